"""The module system: manifests, discovery (no imports), loading under ``nxforge_modules``, dependencies,
and the contract a module's code receives.

Pure: it knows no platform and no database of its own. Enabling, installing and uninstalling,
which need a running platform, live above it in ``nxforge.module_admin``.
"""
