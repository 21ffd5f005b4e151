"""``python -m safeship.cli``."""

import sys

from safeship.cli import main

sys.exit(main())
