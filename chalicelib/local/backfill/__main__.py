"""``python -m chalicelib.local.backfill``: bring running instances to the current layout."""

import sys

from . import main

sys.exit(main())
