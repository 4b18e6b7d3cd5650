"""``python -m chalicelib.local``: run the whole service locally (what ``make run`` does)."""

import sys

from .launcher import main

sys.exit(main())
