"""The licences of what the app is made of, read from installed metadata (pure).

The app ships the Python packages ``lattice-rt`` requires, and what those
require in turn (without optional extras nobody asked for). Their names,
versions, licences and licence texts are read at run time from their
metadata (``importlib.metadata``), in a source checkout as in the PyInstaller
bundle, which carries each of these packages' metadata for that reason
(``packaging/lattice-rt.spec`` asks :func:`shipped_distributions` which).

Some packages carry no licence text: Qt for Python (PySide6, shiboken6),
used here under the LGPL version 3, gets the texts of the LGPL-3.0 and of the
GPL-3.0 it builds on from this package (``licences/``), with a note on where
Qt's sources are. The Python runtime's own licence is read from next to its
standard library (the bundle puts it in ``python/``).
"""

from __future__ import annotations

import re
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

from lattice_rt_core.version import DISTRIBUTION

__all__ = [
    "PYTHON_LICENCE_DIR",
    "QT_NOTE",
    "Licence",
    "own_licence",
    "project_urls",
    "python_licence",
    "shipped_distributions",
    "third_party_licences",
]

#: where the bundle keeps the Python runtime's LICENSE.txt (relative to its data)
PYTHON_LICENCE_DIR = "python"
QT_NOTE = (
    "Qt and Qt for Python (PySide6, shiboken6) are used under the GNU Lesser General "
    "Public License version 3, as shared libraries that can be replaced with another build "
    "of the same version. Their source code: https://code.qt.io and "
    "https://download.qt.io/official_releases/QtForPython/. Qt contains third-party parts "
    "under their own licences, listed at https://doc.qt.io/qt-6/licenses-used-in-qt.html."
)
_QT_DISTRIBUTIONS = ("pyside6", "pyside6-essentials", "pyside6-addons", "shiboken6")
#: licence texts this package carries, for packages that ship none (see the docstring)
_LGPL_TEXTS = ("LGPL-3.0.txt", "GPL-3.0.txt")
_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")
_LICENCE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Licence:
    """One shipped package: what it is, under which licence, and the licence's text."""

    name: str
    version: str
    licence: str  # an SPDX expression or the package's own words
    text: str


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(dist: metadata.Distribution, extras: frozenset[str]) -> Iterator[
    tuple[str, frozenset[str]]
]:
    """(name, extras) of what ``dist`` needs with ``extras``; markers other than ``extra``
    are left to the question whether the package is installed."""
    for line in dist.requires or ():
        spec, _, marker = line.partition(";")
        wanted = {_normal(e) for e in _EXTRA.findall(marker)}
        if wanted and not wanted & extras:
            continue
        match = _REQUIREMENT.match(spec)
        if match is None:
            continue
        sub = frozenset(_normal(e) for e in (match.group(2) or "").split(",") if e.strip())
        yield _normal(match.group(1)), sub


def shipped_distributions(root: str = DISTRIBUTION) -> list[metadata.Distribution]:
    """Every installed distribution ``root`` needs to run, ``root`` excluded, by name."""
    found: dict[str, tuple[metadata.Distribution, frozenset[str]]] = {}
    todo = [(_normal(root), frozenset[str]())]
    while todo:
        name, extras = todo.pop()
        known = found.get(name)
        if known is not None and extras <= known[1]:
            continue
        try:
            dist = known[0] if known is not None else metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # a requirement for another platform, or not installed
        extras = extras | (known[1] if known is not None else frozenset())
        found[name] = (dist, extras)
        todo.extend(_requirements(dist, extras))
    found.pop(_normal(root), None)
    return sorted((dist for dist, _ in found.values()), key=lambda d: _normal(d.name))


def _field(dist: metadata.Distribution, name: str) -> str:
    """A metadata field's (first) value, "" when it is missing."""
    values = dist.metadata.get_all(name)
    return str(values[0]).strip() if values else ""


def _licence_name(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    expression = _field(dist, "License-Expression")
    if expression:
        return expression
    text = _field(dist, "License")
    if text and "\n" not in text and len(text) <= 80:
        return text
    classifiers = [c.rsplit(" :: ", 1)[-1] for c in meta.get_all("Classifier") or ()
                   if c.startswith("License :: ")]
    return ", ".join(classifiers) or "not stated"


def _licence_files(dist: metadata.Distribution) -> Iterator[tuple[str, str]]:
    """(name, text) of the licence files in ``dist``'s metadata directory."""
    named = list(dist.metadata.get_all("License-File") or ())
    if not named:
        named = [
            Path(*f.parts[1:]).as_posix() for f in dist.files or ()
            if len(f.parts) >= 2 and f.parts[0].endswith(".dist-info")
            and _LICENCE_FILE.match(f.name)
        ]
    for name in named:
        for path in (f"licenses/{name}", name):
            text = dist.read_text(path)
            if text:
                yield name, text
                break


def _bundled(name: str) -> str:
    return resources.files("lattice_rt_tray").joinpath("licences", name).read_text(encoding="utf-8")


def _text(dist: metadata.Distribution, licence: str) -> str:
    parts = [f"── {Path(name).name} ──\n\n{text.strip()}" for name, text in _licence_files(dist)]
    if not parts:
        body = _field(dist, "License")
        if "\n" in body:  # some packages put the whole text there
            parts.append(body)
    qt = _normal(dist.name) in _QT_DISTRIBUTIONS
    if qt:
        parts.insert(0, QT_NOTE)
        if len(parts) == 1:
            parts += [f"── {name} ──\n\n{_bundled(name).strip()}" for name in _LGPL_TEXTS]
    if not parts:
        parts.append(f"This package ships no licence text. Its licence: {licence}.")
    return "\n\n".join(parts) + "\n"


def third_party_licences(root: str = DISTRIBUTION) -> list[Licence]:
    """Every shipped package's licence, by package name; the Python runtime's first."""
    out = []
    python = python_licence()
    if python is not None:
        out.append(python)
    for dist in shipped_distributions(root):
        licence = _licence_name(dist)
        out.append(Licence(str(dist.name), dist.version, licence, _text(dist, licence)))
    return out


def python_licence() -> Licence | None:
    """The Python runtime's licence (PSF-2.0 and its history), if its text is here."""
    candidates = [Path(sysconfig.get_path("stdlib")) / "LICENSE.txt"]
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        candidates.insert(0, Path(bundle) / PYTHON_LICENCE_DIR / "LICENSE.txt")
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        version = ".".join(map(str, sys.version_info[:3]))
        return Licence("Python", version, "PSF-2.0", text)
    return None


def own_licence(root: str = DISTRIBUTION) -> str:
    """The app's own licence, as its metadata says (``license`` in pyproject.toml)."""
    try:
        return _licence_name(metadata.distribution(root))
    except metadata.PackageNotFoundError:
        return "not stated"


def project_urls(root: str = DISTRIBUTION) -> list[tuple[str, str]]:
    """(label, URL) of the project's links in its metadata (``[project.urls]``)."""
    try:
        entries = metadata.distribution(root).metadata.get_all("Project-URL") or ()
    except metadata.PackageNotFoundError:
        return []
    out = []
    for entry in entries:
        label, _, url = str(entry).partition(",")
        if url.strip():
            out.append((label.strip(), url.strip()))
    return out
