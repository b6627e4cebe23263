"""Scale tests import module code as the core does: with ``modules/`` on sys.path (set up there)."""

from tests.modules.conftest import MODULES_DIR  # noqa: F401  (puts modules/ on sys.path)
