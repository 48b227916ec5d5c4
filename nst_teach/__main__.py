"""``python -m nst_teach`` runs the command line."""

import sys

from nst_teach.cli import main

sys.exit(main())
