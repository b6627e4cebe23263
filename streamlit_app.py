"""The NxForge app: login, then a navigation built from the core pages and the enabled modules' pages.

Run with ``streamlit run streamlit_app.py``. The machinery lives in ``nxforge.app``; the core
pages live in ``core_pages/`` beside this file, which is how the app finds them wherever ``nxforge``
is installed, and ``nxforge/app/core_pages.py`` loads them by file path when they are opened. The
folder is not called ``pages/``: Streamlit serves the files of a ``pages/`` folder beside the entry
point by their URLs until a script calls ``st.navigation`` (see ``core_pages.py``).
"""

from pathlib import Path

# pandas is imported whole before anything else in every session's script thread. Polars and Plotly
# import it lazily, and Plotly's serializer takes whatever ``sys.modules`` holds: while one session's
# thread was still importing pandas, another's chart failed with "partially initialized module 'pandas'
# has no attribute 'Series'" (seen in a browser test on a loaded machine). An import statement waits
# for a module another thread is importing, so after this line every thread sees all of pandas.
import pandas  # noqa: F401

from nxforge.app.shell import main

main(Path(__file__).resolve().parent / "core_pages")
