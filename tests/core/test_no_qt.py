"""The core never imports Qt (it runs headless and in the CLI)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_core_does_not_import_qt() -> None:
    code = (
        "import sys, lattice_rt_core, lattice_rt_core.cli, lattice_rt_core.client, "
        "lattice_rt_core.server, lattice_rt_core.http.app, lattice_rt_core.auth.access\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
