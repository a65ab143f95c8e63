"""``python -m lattice_rt_tray`` starts the tray app."""

from lattice_rt_tray.launch import main

raise SystemExit(main())
