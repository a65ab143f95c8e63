"""Build the PyInstaller one-folder bundle, reusing the last one when nothing changed.

PyInstaller's own cache re-analyses only when the entry scripts or spec options
change, so a new import in an existing module could be missed by a cached
Analysis. Reuse is therefore decided here, on a fingerprint of everything the
bundle is made of: first-party sources and data, the spec and its helpers, the
icon source, pyproject.toml, the interpreter and every installed distribution's
version. Same fingerprint: the existing bundle is kept. Anything different: the
work directory is wiped and PyInstaller runs from scratch.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path

from .project import CLI_EXE, TRAY_EXE

__all__ = ["BUNDLE_NAME", "BundleError", "build_bundle", "bundle_fingerprint", "SPEC"]

SPEC = Path("packaging/lattice-rt.spec")
BUNDLE_NAME = "lattice-rt"
FINGERPRINT_FILE = ".bundle-fingerprint"

#: Paths (relative to the repository root) whose contents end up in the bundle.
_INPUT_TREES = (
    "lattice_rt_core",
    "app/lattice_rt_tray",
    "resources/icons/hicolor/512x512",
    "packaging/launchers",
    "packaging/lrt_build",
)
_INPUT_FILES = ("pyproject.toml", str(SPEC))
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


class BundleError(Exception):
    """PyInstaller failed or produced an incomplete bundle."""


def _walk(root: Path, relative: str) -> Iterator[Path]:
    base = root / relative
    if base.is_file():
        yield base
        return
    if not base.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            if not name.endswith((".pyc", ".pyo")):
                yield Path(dirpath) / name


def _installed_distributions() -> Iterable[str]:
    for dist in metadata.distributions():
        yield f"{dist.metadata['Name']}=={dist.version}"


def bundle_fingerprint(root: Path) -> str:
    """A digest of every input of the bundle (see the module docstring)."""
    digest = hashlib.sha256()
    digest.update(f"{sys.version}|{sys.executable}|{platform.machine()}\n".encode())
    for line in sorted(set(_installed_distributions())):
        digest.update(line.encode() + b"\n")
    paths = [path for rel in _INPUT_FILES + _INPUT_TREES for path in _walk(root, rel)]
    for path in sorted(set(paths)):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _exe(name: str) -> str:
    return f"{name}.exe" if sys.platform == "win32" else name


def build_bundle(root: Path, work_dir: Path, dist_dir: Path, *, force: bool = False) -> Path:
    """Build (or reuse) the bundle; returns the folder holding both executables."""
    bundle = dist_dir / BUNDLE_NAME
    stamp = dist_dir / FINGERPRINT_FILE
    fingerprint = bundle_fingerprint(root)
    complete = all((bundle / _exe(name)).is_file() for name in (TRAY_EXE, CLI_EXE))
    if not force and complete and stamp.is_file() and stamp.read_text() == fingerprint:
        print(f"bundle: {bundle} is up to date, reusing it", file=sys.stderr)
        return bundle

    stamp.unlink(missing_ok=True)
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level=WARN",
        f"--workpath={work_dir}",
        f"--distpath={dist_dir}",
        str(root / SPEC),
    ]
    # Run from the work directory: a stale *.egg-info in the checkout must not be
    # the metadata PyInstaller copies.
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run(command, cwd=work_dir, env=env, check=False)
    if result.returncode != 0:
        raise BundleError(f"PyInstaller failed with exit status {result.returncode}")
    missing = [name for name in (TRAY_EXE, CLI_EXE) if not (bundle / _exe(name)).is_file()]
    if missing:
        raise BundleError(f"PyInstaller did not produce {', '.join(missing)} in {bundle}")
    stamp.write_text(fingerprint)
    return bundle
