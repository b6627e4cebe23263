"""The NxForge app: login, then a navigation built from the core pages and the enabled modules' pages."""
