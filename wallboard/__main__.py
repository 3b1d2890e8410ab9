"""`python -m wallboard` runs the command line."""

import sys

from wallboard.cli import main

sys.exit(main())
