"""The NxForge app: login, then a navigation built from the core pages and the enabled modules' pages.

Run with ``streamlit run streamlit_app.py``; everything else lives in ``nxforge.app``. Keep no
``pages/`` folder next to this file: Streamlit would switch to its file-based multipage mode.
"""

from nxforge.app.shell import main

main()
