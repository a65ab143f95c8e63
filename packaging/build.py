"""Build the installers.

usage: python packaging/build.py {version,bundle,deb,windows,macos} [--force]

  version   print the version every artefact carries (pyproject [project] version)
  bundle    the PyInstaller folder (build/pyinstaller/dist/lattice-rt), reused when unchanged
  deb       bundle + dist/lattice-rt_<version>_<arch>.deb           (Debian/Ubuntu)
  windows   bundle + dist/lattice-rt-<version>-setup.exe with Inno Setup (Windows only)
  macos     bundle + "dist/Lattice Realtime Tray-<version>.dmg"       (macOS only)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lrt_build import debian, depends, icons  # noqa: E402
from lrt_build.bundle import BundleError, build_bundle  # noqa: E402
from lrt_build.project import APP_NAME, ProjectError, load_project  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "pyinstaller" / "work"
DIST = ROOT / "build" / "pyinstaller" / "dist"
OUT = ROOT / "dist"
ERRORS = (
    BundleError,
    debian.DebError,
    depends.DependsError,
    icons.IconError,
    ProjectError,
    OSError,
    subprocess.SubprocessError,
)


def _bundle(force: bool) -> Path:
    return build_bundle(ROOT, WORK, DIST, force=force)


def build_deb(force: bool) -> Path:
    project = load_project(ROOT)
    bundle = _bundle(force)
    inputs = debian.DebInputs(
        project=project,
        root=ROOT,
        bundle=bundle,
        desktop_file=ROOT / "resources" / "lattice-rt-tray.desktop",
        autostart_file=ROOT / "resources" / "autostart" / "lattice-rt-tray.desktop",
        service_file=ROOT / "packaging" / "systemd" / "lattice-rt.service",
        proxy_dir=ROOT / "packaging" / "proxy",
        architecture=debian.debian_architecture(),
        depends=depends.depends_field(depends.link_report(bundle)),
    )
    staging = debian.stage(inputs, ROOT / "build" / "deb" / "root")
    return debian.build_deb(staging, OUT)


def build_windows(force: bool) -> Path:
    if sys.platform != "win32":
        raise BundleError("the Windows installer can only be built on Windows (Inno Setup 6)")
    iscc = shutil.which("iscc") or shutil.which("ISCC")
    if iscc is None:
        raise BundleError("ISCC.exe (Inno Setup 6) is not on PATH")
    project = load_project(ROOT)
    bundle = _bundle(force)
    command = [
        iscc,
        f"/DAppVersion={project.version}",
        f"/DBundleDir={bundle}",
        f"/DOutputDir={OUT}",
        str(ROOT / "packaging" / "windows" / "lattice-rt.iss"),
    ]
    subprocess.run(command, check=True)
    return OUT / f"lattice-rt-{project.version}-setup.exe"


def build_macos(force: bool) -> Path:
    if sys.platform != "darwin":
        raise BundleError("the macOS app can only be built on macOS")
    project = load_project(ROOT)
    _bundle(force)
    app = DIST / f"{APP_NAME}.app"
    OUT.mkdir(parents=True, exist_ok=True)
    dmg = OUT / f"{APP_NAME}-{project.version}.dmg"
    dmg.unlink(missing_ok=True)
    command = ["hdiutil", "create", "-volname", APP_NAME, "-srcfolder", str(app)]
    subprocess.run([*command, "-ov", "-format", "UDZO", str(dmg)], check=True)
    return dmg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packaging/build.py", description=__doc__.split("\n")[0])
    parser.add_argument("target", choices=("version", "bundle", "deb", "windows", "macos"))
    parser.add_argument(
        "--force", action="store_true", help="rebuild the bundle even if nothing changed"
    )
    args = parser.parse_args(argv)
    try:
        if args.target == "version":
            print(load_project(ROOT).version)
            return 0
        builders = {
            "bundle": _bundle,
            "deb": build_deb,
            "windows": build_windows,
            "macos": build_macos,
        }
        artefact = builders[args.target](args.force)
    except ERRORS as exc:
        print(f"build: error: {exc}", file=sys.stderr)
        return 1
    print(artefact)
    return 0


if __name__ == "__main__":
    sys.exit(main())
