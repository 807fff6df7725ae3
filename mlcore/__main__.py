"""`python -m mlcore ...` (see mlcore.cli)."""

import sys

from mlcore.cli import main

sys.exit(main())
