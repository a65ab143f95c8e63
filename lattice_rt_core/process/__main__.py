"""``python -m lattice_rt_core.process``: a worker or a child endpoint (see workers.py)."""

from lattice_rt_core.process.workers import main

raise SystemExit(main())
