"""`python -m hookline.cli`: the same as the `hookline` command."""

import sys

from hookline.cli import main

sys.exit(main())
