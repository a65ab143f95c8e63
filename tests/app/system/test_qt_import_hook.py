"""PySide6's source check after every import keeps no source (system/qt_import_hook.py).

Each case runs in a fresh interpreter: this one imported PySide6 long ago.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]

#: the app's modules, as the launcher imports them (the windows' too, built later)
_IMPORT_APP = "import lattice_rt_tray.main, lattice_rt_tray.views.activity_window\n"
_KEPT = (
    "import linecache, json\n"
    "kept = [f for f in linecache.cache if 'lattice_rt' in f]\n"
    "print(json.dumps({'kept': kept, 'lines': sum(len(v[2]) for v in linecache.cache.values()"
    " if len(v) > 2)}))\n"
)


def _run(code: str) -> Any:
    prelude = f"import sys; sys.path[:0] = [{str(ROOT / 'app')!r}, {str(ROOT)!r}]\n"
    out = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True,
                         text=True, check=True, timeout=120,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_app_imported_after_qt_leaves_none_of_its_sources_in_memory() -> None:
    plain = _run("import PySide6.QtCore\n" + _IMPORT_APP + _KEPT)
    hooked = _run(
        "from lattice_rt_tray.system.qt_import_hook import keep_no_sources\n"
        "assert keep_no_sources()\n" + _IMPORT_APP + _KEPT
    )
    # PySide6's own check keeps every line of every module imported after it
    assert len(plain["kept"]) > 50 and plain["lines"] > 20_000
    assert hooked["kept"] == [] and hooked["lines"] < plain["lines"] / 5


def test_the_launcher_installs_it_before_it_imports_the_app() -> None:
    # fails if launch.py imports lattice_rt_tray.main before keep_no_sources()
    launched = _run(
        "from lattice_rt_tray.launch import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "import lattice_rt_tray.main  # imported by the launch, not here\n" + _KEPT
    )
    assert launched["kept"] == []


def test_the_answer_is_pysides_own_for_modules_with_and_without_qt_and_without_source() -> None:
    answers = _run(
        "import sys, json as j, _json, lattice_rt_tray.views.icons, lattice_rt_tray.logic.levels\n"
        "import PySide6.QtCore\n"
        "from lattice_rt_tray.system.qt_import_hook import uses_pyside\n"
        "check = sys.modules['PySide6.support.feature']._mod_uses_pyside\n"
        "mods = [j, _json, sys, lattice_rt_tray.views.icons, lattice_rt_tray.logic.levels]\n"
        "print(j.dumps([[m.__name__, check(m), uses_pyside(m)] for m in mods]))\n"
    )
    assert answers == [
        ["json", False, False],
        ["_json", False, False],  # an extension: no source
        ["sys", False, False],  # built in
        ["lattice_rt_tray.views.icons", True, True],
        ["lattice_rt_tray.logic.levels", False, False],
    ]
