"""Frozen entry point of the tray app: the same function as the `lattice-rt-tray` script.

The same executable is also the embedded endpoint's process (``_worker``).
"""

import sys

from lattice_rt_tray.launch import main

sys.exit(main())
