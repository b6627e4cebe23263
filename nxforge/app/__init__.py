"""The Streamlit app's machinery: navigation built from page declarations, cached resources,
the error boundary every page runs in, query functions and formatting helpers.

Nothing here is a page; core pages live in the top-level ``pages/`` folder and module pages in
each module, and both are declared as :class:`~nxforge.module_system.manifest.PageSpec`.
"""
