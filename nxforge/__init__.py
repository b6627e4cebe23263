"""NxForge: a modular platform that reads meters on a schedule and bills what every rack consumes.

The core knows nothing about power: modules (see ``modules/``) bring jobs, pages, settings and
migrations, and reach the core only through the context they are handed.
"""

__version__ = "0.1.0"
