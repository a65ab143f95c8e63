"""The .deb's Depends: the Debian packages that provide what the bundle links.

Like dpkg-shlibdeps, but for a PyInstaller folder: the libraries every ELF file
of the bundle names directly (its NEEDED entries, read with ``readelf``) are
resolved with ``ldd`` (the bundle's own library folders first, as at run
time); each one found outside the bundle is mapped to its package with
``dpkg -S``, and those packages become Depends. What those libraries need in
turn is their packages' business. A library that does not resolve on the
build machine, directly or further down, stops the build: the package would
otherwise install fine and then fail to start.

Some needs do not show up as links and are listed by hand (``RUNTIME_DEPENDS``).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "RUNTIME_DEPENDS",
    "DependsError",
    "LinkReport",
    "depends_field",
    "elf_files",
    "library_dirs",
    "link_report",
    "needed_sonames",
    "owning_packages",
    "parse_ldd",
]

#: Needs that no ELF header names: fontconfig reads font files and Qt renders
#: nothing without at least one font.
RUNTIME_DEPENDS = ("fonts-dejavu-core | fonts-liberation2 | fonts-noto-core",)

_ELF_MAGIC = b"\x7fELF"
_NEEDED = re.compile(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]")
_LDD_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+(\S+)\s+\(0x[0-9a-f]+\)\s*$")
_LDD_MISSING = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$")


class DependsError(Exception):
    """The bundle links a library this machine cannot resolve, or dpkg cannot place it."""


@dataclass
class LinkReport:
    """What the bundle's ELF files link, outside the bundle."""

    external: dict[str, set[Path]] = field(default_factory=dict)  # library path -> users
    missing: dict[str, set[Path]] = field(default_factory=dict)  # soname -> users


def elf_files(bundle: Path) -> list[Path]:
    """Every regular (non-symlink) ELF file under ``bundle``."""
    found = []
    for dirpath, _dirnames, filenames in os.walk(bundle):
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            with path.open("rb") as handle:
                if handle.read(4) == _ELF_MAGIC:
                    found.append(path)
    return sorted(found)


def library_dirs(bundle: Path) -> list[Path]:
    """The bundle's folders holding shared libraries, as the bootloader searches them."""
    internal = bundle / "_internal"
    dirs = [internal, internal / "PySide6" / "Qt" / "lib"]
    return [d for d in dirs if d.is_dir()]


def parse_ldd(output: str) -> tuple[dict[str, str], set[str]]:
    """ldd's answer as ({soname: resolved path}, {unresolved sonames})."""
    found: dict[str, str] = {}
    missing: set[str] = set()
    for line in output.splitlines():
        if match := _LDD_MISSING.match(line):
            missing.add(match.group(1))
        elif match := _LDD_FOUND.match(line):
            found[match.group(1)] = match.group(2)
    return found, missing


def needed_sonames(path: Path) -> list[str]:
    """The libraries ``path`` names in its dynamic section (its DT_NEEDED entries)."""
    result = subprocess.run(
        ["readelf", "--dynamic", "--wide", str(path)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise DependsError(f"readelf cannot read {path}: {result.stderr.strip()}")
    return _NEEDED.findall(result.stdout)


def link_report(bundle: Path, files: Iterable[Path] | None = None) -> LinkReport:
    """Resolve every ELF file of ``bundle`` (or just ``files``) with ldd."""
    bundle = bundle.resolve()
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(str(d) for d in library_dirs(bundle))
    report = LinkReport()
    for path in files if files is not None else elf_files(bundle):
        result = subprocess.run(
            ["ldd", str(path)], env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            # "not a dynamic executable" (static or foreign-arch files) needs nothing.
            continue
        found, missing = parse_ldd(result.stdout)
        for soname in needed_sonames(path):
            target = found.get(soname)
            if target is not None and not Path(target).resolve().is_relative_to(bundle):
                report.external.setdefault(target, set()).add(path)
        for soname in missing:
            report.missing.setdefault(soname, set()).add(path)
    return report


def _dpkg_candidates(path: str) -> list[str]:
    """Names dpkg may have recorded for ``path`` (symlink targets, merged /usr)."""
    names = [path, str(Path(path).resolve())]
    for name in list(names):
        if name.startswith("/usr/"):
            names.append(name[len("/usr") :])
        else:
            names.append("/usr" + name)
    return list(dict.fromkeys(names))


def owning_packages(paths: Sequence[str]) -> dict[str, str]:
    """Map each of ``paths`` to the installed package that owns it (via ``dpkg -S``)."""
    candidates = {path: _dpkg_candidates(path) for path in paths}
    queries = sorted({name for names in candidates.values() for name in names})
    if not queries:
        return {}
    result = subprocess.run(
        ["dpkg-query", "-S", *queries], capture_output=True, text=True, check=False
    )
    owner_of: dict[str, str] = {}
    for line in result.stdout.splitlines():
        if line.startswith(("diversion by", "local diversion")) or ": " not in line:
            continue
        packages, owned = line.split(": ", 1)
        # "libfoo1:amd64, libfoo1:i386: /path" -> the first owner, without the arch.
        owner_of[owned.strip()] = packages.split(",")[0].strip().split(":")[0]
    owners: dict[str, str] = {}
    unowned = []
    for path, names in candidates.items():
        owner = next((owner_of[name] for name in names if name in owner_of), None)
        if owner is None:
            unowned.append(path)
        else:
            owners[path] = owner
    if unowned:
        raise DependsError(
            "no installed Debian package owns " + ", ".join(sorted(unowned))
            + "; the bundle must not link libraries installed outside dpkg"
        )
    return owners


def _upstream_version(package: str) -> str | None:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    version = result.stdout.strip()
    if result.returncode != 0 or not version:
        return None
    version = version.split(":", 1)[-1]  # epoch
    return version.rsplit("-", 1)[0]  # Debian revision


def depends_field(report: LinkReport) -> str:
    """The Depends value for a bundle whose links are ``report``."""
    if report.missing:
        lines = [
            f"  {soname} (needed by {', '.join(sorted(p.name for p in users)[:3])})"
            for soname, users in sorted(report.missing.items())
        ]
        raise DependsError(
            "these libraries do not resolve on the build machine; install them "
            "(scripts/sysdeps.sh package) before building:\n" + "\n".join(lines)
        )
    packages = sorted(set(owning_packages(sorted(report.external)).values()))
    entries = []
    for package in packages:
        # glibc symbol versions are the one hard floor a build machine imposes.
        floor = _upstream_version(package) if package == "libc6" else None
        entries.append(f"{package} (>= {floor})" if floor else package)
    entries.extend(RUNTIME_DEPENDS)
    return ", ".join(entries)
