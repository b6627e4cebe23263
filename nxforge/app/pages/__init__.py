"""The core's pages: each has ``render(ctx: CorePageContext, role: str)``, declared in ``nxforge.app.registry``.

They live inside the package, not in a ``pages/`` folder next to ``streamlit_app.py``: such a
folder switches Streamlit to its older file-based multipage mode, which runs ``pages/*.py``
directly for a matching URL before ``st.navigation`` has taken over.
"""
