"""Frozen entry point of the tray app: the same function as the `lattice-rt-tray` script."""

import sys

from lattice_rt_tray.main import main

sys.exit(main())
