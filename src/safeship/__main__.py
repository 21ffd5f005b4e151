"""``python -m safeship``."""

import sys

from safeship.cli import main

sys.exit(main())
