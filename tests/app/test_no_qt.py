"""The app's logic/ and system/ never load Qt (they are tested, and reasoned about, without it).

Each is imported alone in a fresh interpreter, which must end up with no
PySide6 or shiboken6 module loaded: the rules of notifications, do-not-disturb,
presence, settings values and text stay plain Python.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "app" / "lattice_rt_tray"
#: every module of logic/ and system/ (tests/test_layout.py reads their imports; this
#: imports each, so nothing they load on the way brings Qt in either)
PURE = sorted(
    ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    for folder in ("logic", "system")
    for path in (PACKAGE / folder).rglob("*.py")
    if path.name != "__init__.py"
)


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_does_not_import_qt(module: str) -> None:
    code = (
        f"import sys; sys.path[:0] = [{str(ROOT / 'app')!r}, {str(ROOT)!r}]\n"
        f"import lattice_rt_tray.{module}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == ""
