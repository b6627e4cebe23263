"""The NxForge app: login, then a navigation built from the core pages and the enabled modules' pages.

Run with ``streamlit run streamlit_app.py``; the machinery lives in ``nxforge.app`` and the core
pages in ``pages/`` beside this file, which the shell loads by file path (see
``nxforge/app/core_pages.py``). Streamlit does not serve ``pages/*.py`` on its own here: this
entry point calls ``st.navigation``, and only the navigation's pages are served.
"""

from pathlib import Path

from nxforge.app.shell import main

main(Path(__file__).resolve().parent / "pages")
