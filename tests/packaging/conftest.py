"""Packaging tests import the build helpers from packaging/lrt_build.

test_installed_deb.py installs a real .deb with dpkg and is collected only when
LATTICE_RT_DEB names one (``make package-test`` does that); ``make test`` runs
the rest, which need no build and no root.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
if str(PACKAGING) not in sys.path:
    sys.path.insert(0, str(PACKAGING))

collect_ignore = [] if os.environ.get("LATTICE_RT_DEB") else ["test_installed_deb.py"]
