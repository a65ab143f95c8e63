"""Frozen entry point of the command line: the same function as the `lattice-rt` script."""

import sys

from lattice_rt_core.cli import main

sys.exit(main())
