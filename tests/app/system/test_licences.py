"""The licences the About dialog shows, read from the installed packages' metadata."""

from __future__ import annotations

import tomllib
from pathlib import Path

from lattice_rt_tray.system.licences import (
    QT_NOTE,
    own_licence,
    project_urls,
    python_licence,
    shipped_distributions,
    third_party_licences,
)

ROOT = Path(__file__).resolve().parents[3]


def names() -> set[str]:
    return {d.name.lower().replace("_", "-") for d in shipped_distributions()}


def test_what_ships_is_what_lattice_rt_needs_to_run_and_nothing_for_development():
    shipped = names()
    # every runtime requirement of pyproject.toml (this machine is Linux: jeepney too)
    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for line in required:
        name = line.split(";")[0].split("[")[0].split(">")[0].split("<")[0].strip().lower()
        assert name in shipped, name
    # and what they need in turn
    assert {"anyio", "h11", "shiboken6", "httptools", "uvloop"} <= shipped
    # but not the extras nobody asked for (uvicorn's reloader, WebSocket, .env and YAML
    # parts), nor the dev tools
    assert not {"pytest", "mypy", "ruff", "hypothesis", "matplotlib", "pyinstaller",
                "lattice-rt", "brotli", "trio", "httpx", "httpx-sse", "httpcore",
                "watchfiles", "websockets", "python-dotenv", "pyyaml"} & shipped


def test_every_package_has_a_licence_and_its_text():
    licences = third_party_licences()
    assert licences[0].name == "Python" and licences[0].licence == "PSF-2.0"
    assert "PYTHON SOFTWARE FOUNDATION LICENSE" in licences[0].text
    by_name = {lic.name.lower().replace("_", "-"): lic for lic in licences}
    assert set(by_name) == names() | {"python"}
    for licence in licences:
        assert licence.version and licence.licence and licence.licence != "not stated"
        assert len(licence.text) > 300, licence.name  # a real licence, not a placeholder
    starlette = by_name["starlette"]
    assert starlette.licence == "BSD-3-Clause" and "Redistribution and use" in starlette.text
    qt = by_name["pyside6-essentials"]
    assert "LGPL-3.0-only" in qt.licence and qt.text.startswith(QT_NOTE)
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in qt.text
    assert "GNU GENERAL PUBLIC LICENSE" in qt.text  # the LGPL builds on the GPL
    assert "Apache License" in by_name["prometheus-client"].text


def test_the_apps_own_licence_and_links_come_from_its_metadata():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert own_licence() == project["license"] == "MIT"
    assert project_urls() == list(project.get("urls", {}).items())
    assert own_licence("no-such-package") == "not stated"
    assert project_urls("no-such-package") == []


def test_the_bundles_python_licence_is_found_first(monkeypatch, tmp_path):
    (tmp_path / "python").mkdir()
    (tmp_path / "python" / "LICENSE.txt").write_text("the bundled one")
    monkeypatch.setattr("sys._MEIPASS", str(tmp_path), raising=False)
    found = python_licence()
    assert found is not None and found.text == "the bundled one"
