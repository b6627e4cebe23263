"""Deployment recipes in deploy/, each run for real where this machine allows."""
