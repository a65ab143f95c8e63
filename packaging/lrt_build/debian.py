"""Stage and build the .deb with dpkg-deb.

Layout of the package::

    /opt/lattice-rt/                          the PyInstaller bundle
    /usr/bin/lattice-rt-tray, /usr/bin/lattice-rt   -> symlinks into /opt/lattice-rt
    /usr/share/applications/lattice-rt-tray.desktop
    /usr/share/icons/hicolor/<N>x<N>/apps/lattice-rt-tray.png, scalable/apps/....svg
    /usr/share/lattice-rt/autostart/lattice-rt-tray.desktop   (a template, not active)
    /usr/share/lattice-rt/proxy/nginx.conf, nginx-cluster.conf, Caddyfile   (proxy examples)
    /usr/lib/systemd/system/lattice-rt.service               (a team server; not enabled)
    /usr/share/doc/lattice-rt/copyright

Nothing goes under /etc, so the package has no conffiles and ``dpkg -r``
removes every file it installed. The systemd unit is installed but never
enabled or started by the package: running a team server is an admin's
decision (``systemctl enable --now lattice-rt``). Autostart is opt-in per user: the app's
"Start at login" setting (or the user, by copying the template) writes
``~/.config/autostart/lattice-rt-tray.desktop``. A system-wide
/etc/xdg/autostart entry would start the tray for every account on the machine
and could only be turned off per user with an override file.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import icons
from .project import CLI_EXE, DESKTOP_ID, INSTALL_PREFIX, TRAY_EXE, Project

__all__ = [
    "AUTOSTART_TEMPLATE",
    "PROXY_EXAMPLES",
    "SERVICE_UNIT",
    "DebError",
    "DebInputs",
    "build_deb",
    "control_text",
    "deb_version",
    "debian_architecture",
    "maintainer_script",
    "stage",
]

PACKAGE = "lattice-rt"
MAINTAINER = "Lattice Realtime developers <lattice-rt@packages.invalid>"
SYNOPSIS = "live presence and activity of Lattice workspaces in the system tray"
AUTOSTART_TEMPLATE = f"/usr/share/{PACKAGE}/autostart/{DESKTOP_ID}.desktop"
SERVICE_UNIT = f"/usr/lib/systemd/system/{PACKAGE}.service"
PROXY_EXAMPLES = f"/usr/share/{PACKAGE}/proxy"
#: the reverse-proxy examples shipped there (packaging/proxy/)
PROXY_FILES = ("nginx.conf", "nginx-cluster.conf", "Caddyfile")

_DESCRIPTION = """\
 A tray app that shows who is online in your Lattice workspaces and what just
 happened there, as live notifications and two small windows. It runs its own
 realtime endpoint on 127.0.0.1 (Server-Sent Events), so it needs no server,
 and can follow a shared team server instead.
 .
 Also installs the lattice-rt command: a headless server (lattice-rt serve)
 and a command-line client (publish, tail, presence, feed, open, user), and a
 systemd unit that runs lattice-rt serve as a team server (not enabled)."""


class DebError(Exception):
    """The package could not be staged or built."""


@dataclass(frozen=True)
class DebInputs:
    """Everything the .deb is made of."""

    project: Project
    root: Path  # the repository (icons come from resources/icons)
    bundle: Path  # the PyInstaller folder with both executables and _internal/
    desktop_file: Path
    autostart_file: Path
    service_file: Path  # the systemd unit of a team server
    proxy_dir: Path  # PROXY_FILES
    architecture: str
    depends: str


def debian_architecture() -> str:
    """This machine's Debian architecture name (amd64, arm64, ...)."""
    result = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise DebError("dpkg --print-architecture failed; is this a Debian system?")
    return result.stdout.strip()


_PEP440 = re.compile(
    r"^(?P<release>\d+(?:\.\d+)*)"
    r"(?:(?P<pre>a|b|rc)(?P<pre_n>\d+))?"
    r"(?:\.post(?P<post>\d+))?"
    r"(?:\.dev(?P<dev>\d+))?"
    r"(?:\+(?P<local>[a-z0-9]+(?:\.[a-z0-9]+)*))?$"
)


def deb_version(version: str) -> str:
    """A (normalised) PEP 440 version as a Debian version that sorts the same way.

    Pre- and dev releases sort before their release in PEP 440, dev releases
    before pre-releases; in Debian a tilde sorts before anything, two tildes
    before one: 1.0rc1 -> 1.0~rc1, 1.0.dev3 -> 1.0~~dev3, 1.0rc1.dev2 ->
    1.0~rc1~~dev2. Post and local versions sort after: 1.0.post1 -> 1.0+post1.
    """
    match = _PEP440.match(version)
    if match is None:
        raise DebError(
            f"version {version!r} is not a normalised PEP 440 version "
            "(like 1.2.3, 1.2.3rc1, 1.2.3.post1, 1.2.3.dev4)"
        )
    parts = [match["release"]]
    if match["pre"]:
        parts.append(f"~{match['pre']}{match['pre_n']}")
    if match["post"]:
        parts.append(f"+post{match['post']}")
    if match["dev"]:
        parts.append(f"~~dev{match['dev']}")
    if match["local"]:
        parts.append(f"+{match['local']}")
    return "".join(parts)


def control_text(inputs: DebInputs, installed_size_kib: int) -> str:
    """The DEBIAN/control file."""
    fields = [
        ("Package", PACKAGE),
        ("Version", deb_version(inputs.project.version)),
        ("Architecture", inputs.architecture),
        ("Maintainer", MAINTAINER),
        ("Installed-Size", str(installed_size_kib)),
        ("Depends", inputs.depends),
        ("Suggests", "gnome-shell-extension-appindicator"),
        ("Section", "net"),
        ("Priority", "optional"),
    ]
    lines = [f"{name}: {value}" for name, value in fields]
    lines.append(f"Description: {SYNOPSIS}")
    lines.append(_DESCRIPTION)
    return "\n".join(lines) + "\n"


def maintainer_script(action: str) -> str:
    """The postinst: refresh the desktop's caches after the files are in place,
    and let a running systemd know the unit (restarting the team server on an
    upgrade if it runs; never enabling or starting it).

    Only caches the system already keeps are refreshed: creating one where there
    was none would leave a file behind after removal, and a stale cache hides
    icons that later packages install.

    There is deliberately no postrm. dpkg keeps a package that has one in the
    "config-files" state after ``dpkg -r`` (its postrm and file list stay in
    /var/lib/dpkg/info until a purge), so removal would not be clean. After a
    removal the caches are refreshed by the dpkg file triggers that
    desktop-file-utils (/usr/share/applications) and hicolor-icon-theme
    (/usr/share/icons/hicolor) register, on every system that has the tools.
    """
    if action != "postinst":
        raise ValueError(f"unknown maintainer script {action!r} (only postinst is shipped)")
    return """#!/bin/sh
set -e

refresh_desktop_caches() {
    if command -v update-desktop-database >/dev/null 2>&1 \\
            && [ -f /usr/share/applications/mimeinfo.cache ]; then
        update-desktop-database -q /usr/share/applications || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 \\
            && [ -f /usr/share/icons/hicolor/icon-theme.cache ]; then
        gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
    fi
}

case "$1" in
    configure)
        refresh_desktop_caches
        if [ -d /run/systemd/system ]; then
            # systemd sees the (new) team server unit; the package never enables it
            systemctl daemon-reload || true
            if [ -n "$2" ]; then
                # an upgrade: a running team server restarts on the new program
                systemctl try-restart lattice-rt.service || true
            fi
        fi
        ;;
esac

exit 0
"""


def _copyright(project: Project) -> str:
    return f"""Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: {project.name}

Files: *
License: {project.license}

Files: opt/lattice-rt/_internal/*
Comment: The bundled runtime: CPython (PSF-2.0), Qt 6 and PySide6 (LGPL-3.0),
 and the Python packages listed in the lattice-rt metadata under
 /opt/lattice-rt/_internal, each under its own licence.
License: various
"""


def _normalise_modes(root: Path) -> None:
    """Directories 0755, executables 0755, everything else 0644 (whatever the umask)."""
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_symlink():
                continue
            executable = path.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            path.chmod(0o755 if executable else 0o644)
        for name in dirnames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                path.chmod(0o755)


def _tree_size_kib(root: Path) -> int:
    total = 0
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            total += path.lstat().st_size if path.is_symlink() else path.stat().st_size
    return (total + 1023) // 1024


def _md5sums(root: Path) -> str:
    """DEBIAN/md5sums: what ``dpkg --verify`` and debsums check the installed files against."""
    lines = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not path.is_symlink():
                digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
                lines.append(f"{digest}  {path.relative_to(root).as_posix()}")
    return "\n".join(lines) + "\n"


def stage(inputs: DebInputs, staging: Path) -> Path:
    """Lay the package tree out under ``staging`` (emptied first); returns it."""
    for exe in (TRAY_EXE, CLI_EXE):
        if not (inputs.bundle / exe).is_file():
            raise DebError(f"{inputs.bundle} has no {exe} executable")
    shutil.rmtree(staging, ignore_errors=True)
    prefix = staging / INSTALL_PREFIX.lstrip("/")
    shutil.copytree(inputs.bundle, prefix, symlinks=True)

    bin_dir = staging / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    for exe in (TRAY_EXE, CLI_EXE):
        (bin_dir / exe).symlink_to(f"{INSTALL_PREFIX}/{exe}")

    share = staging / "usr" / "share"
    applications = share / "applications"
    applications.mkdir(parents=True)
    shutil.copyfile(inputs.desktop_file, applications / f"{DESKTOP_ID}.desktop")
    autostart = staging / AUTOSTART_TEMPLATE.lstrip("/")
    autostart.parent.mkdir(parents=True)
    shutil.copyfile(inputs.autostart_file, autostart)
    icons.install_hicolor(inputs.root, share / "icons" / "hicolor")
    unit = staging / SERVICE_UNIT.lstrip("/")
    unit.parent.mkdir(parents=True)
    shutil.copyfile(inputs.service_file, unit)
    proxy = staging / PROXY_EXAMPLES.lstrip("/")
    proxy.mkdir(parents=True)
    for name in PROXY_FILES:
        shutil.copyfile(inputs.proxy_dir / name, proxy / name)
    doc = share / "doc" / PACKAGE
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(_copyright(inputs.project))

    _normalise_modes(staging)
    size = _tree_size_kib(staging)
    sums = _md5sums(staging)
    debian = staging / "DEBIAN"
    debian.mkdir()
    (debian / "control").write_text(control_text(inputs, size))
    (debian / "md5sums").write_text(sums)
    postinst = debian / "postinst"
    postinst.write_text(maintainer_script("postinst"))
    postinst.chmod(0o755)
    os.chmod(debian, 0o755)
    for name in ("control", "md5sums"):
        (debian / name).chmod(0o644)
    return staging


def build_deb(staging: Path, out_dir: Path, *, compression_level: int = 3) -> Path:
    """``dpkg-deb --build`` the staged tree with zstd; returns the .deb's path."""
    control = (staging / "DEBIAN" / "control").read_text()
    fields = dict(
        line.split(": ", 1) for line in control.splitlines() if ": " in line and line[0] != " "
    )
    version = fields["Version"].split(":", 1)[-1]
    out_dir.mkdir(parents=True, exist_ok=True)
    deb = out_dir / f"{fields['Package']}_{version}_{fields['Architecture']}.deb"
    command = [
        "dpkg-deb",
        "--root-owner-group",
        "-Zzstd",
        f"-z{compression_level}",
        "--build",
        str(staging),
        str(deb),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DebError(f"dpkg-deb failed: {result.stderr.strip() or result.stdout.strip()}")
    return deb
