"""The app's pure modules never import Qt (they are tested, and reasoned about, without it).

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
PURE = (
    "autostart",
    "coalescer",
    "connection_check",
    "connection_types",
    "digest",
    "dnd",
    "gc_pauses",
    "identity",
    "licences",
    "link_status",
    "resume",
    "roster",
    "settings_values",
    "status_display",
    "status_machine",
    "summary",
    "text",
    "timefmt",
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
