"""NxForge: a modular platform that reads meters on a schedule and bills what every rack consumes.

The core knows nothing about power: modules (see ``modules/``) bring jobs, pages, settings and
migrations, import only ``nxforge.sdk`` and reach the core through the context they are handed.
The core's layers, lowest first (checked by import-linter, see ``pyproject.toml``): the kernel,
the engines, the module system, the sdk, the platform, the services, the faces.
"""

__version__ = "0.1.0"
