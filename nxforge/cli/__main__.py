"""``python -m nxforge.cli``: the same as the ``nxforge`` console script."""

import sys

from nxforge.cli import main

sys.exit(main())
