"""Module administration: enable, disable, install from a ZIP and uninstall, on a running platform.

This is a service over the platform (it applies migrations, writes ``nxforge.yaml`` and records
audit rows), so it sits above ``nxforge.platform``; the module system below it stays pure:
manifests, discovery, loading and dependencies, with no platform.
"""
