"""The Streamlit app's machinery: navigation built from page declarations, cached resources,
the error boundary every page runs in, sign-in, query functions and formatting helpers.

Nothing here is a page: core pages live in the top-level ``core_pages/`` folder beside
``streamlit_app.py`` (loaded by file path, see ``core_pages.py``) and module pages in each module;
both are declared as :class:`~nxforge.module_system.manifest.PageSpec`.
"""
