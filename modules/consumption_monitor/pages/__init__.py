"""Streamlit pages of the consumption monitor (written by the app engineer)."""
