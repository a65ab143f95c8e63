"""The .deb's layout, control file and maintainer scripts, built from a stand-in bundle.

The real bundle takes a PyInstaller run; what is checked here does not depend
on its contents, so a two-script folder stands in for it and dpkg-deb builds
a real package from it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from lrt_build import debian, icons
from lrt_build.project import CLI_EXE, DESKTOP_ID, INSTALL_PREFIX, TRAY_EXE, load_project

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    folder = tmp_path / "bundle"
    (folder / "_internal" / "data").mkdir(parents=True)
    for exe in (TRAY_EXE, CLI_EXE):
        path = folder / exe
        path.write_text("#!/bin/sh\necho stand-in\n")
        path.chmod(0o700)
    (folder / "_internal" / "data" / "page.html").write_text("<p>hi</p>")
    (folder / "_internal" / "data" / "page.html").chmod(0o600)
    (folder / "_internal" / "libdemo.so.1").symlink_to("data/page.html")
    return folder


def _inputs(bundle: Path, depends: str = "libc6 (>= 2.36), zlib1g") -> debian.DebInputs:
    return debian.DebInputs(
        project=load_project(ROOT),
        root=ROOT,
        bundle=bundle,
        desktop_file=ROOT / "resources" / "lattice-rt-tray.desktop",
        autostart_file=ROOT / "resources" / "autostart" / "lattice-rt-tray.desktop",
        service_file=ROOT / "packaging" / "systemd" / "lattice-rt.service",
        proxy_dir=ROOT / "packaging" / "proxy",
        architecture="amd64",
        depends=depends,
    )


@pytest.fixture
def deb(bundle: Path, tmp_path: Path) -> Iterator[Path]:
    old = os.umask(0o077)  # a strict umask must not leak into the package
    try:
        staging = debian.stage(_inputs(bundle), tmp_path / "staging")
    finally:
        os.umask(old)
    yield debian.build_deb(staging, tmp_path / "out")


def _listing(deb: Path) -> dict[str, str]:
    """path -> "mode owner [-> target]" from ``dpkg-deb --contents``."""
    out = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    entries = {}
    for line in out.splitlines():
        mode, owner, _size, _date, _time, name, *rest = line.split()
        path = name.removeprefix(".").rstrip("/") or "/"
        entries[path] = " ".join([mode, owner, *rest])
    return entries


def _field(deb: Path, name: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "--field", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_package_is_named_after_the_pyproject_version(deb: Path) -> None:
    version = load_project(ROOT).version
    assert deb.name == f"lattice-rt_{debian.deb_version(version)}_amd64.deb"
    assert _field(deb, "Version") == debian.deb_version(version)
    assert _field(deb, "Package") == "lattice-rt"
    assert _field(deb, "Depends") == "libc6 (>= 2.36), zlib1g"


def test_package_is_zstd_compressed(deb: Path) -> None:
    members = subprocess.run(["ar", "t", str(deb)], capture_output=True, text=True, check=True)
    assert "data.tar.zst" in members.stdout.split()


def test_bundle_goes_to_opt_and_programs_onto_the_path(deb: Path) -> None:
    files = _listing(deb)
    for exe in (TRAY_EXE, CLI_EXE):
        assert files[f"{INSTALL_PREFIX}/{exe}"].startswith("-rwxr-xr-x root/root")
        assert files[f"/usr/bin/{exe}"].endswith(f"-> {INSTALL_PREFIX}/{exe}")
    assert files[f"{INSTALL_PREFIX}/_internal/data/page.html"].startswith("-rw-r--r-- root/root")
    assert files[f"{INSTALL_PREFIX}/_internal/libdemo.so.1"].endswith("-> data/page.html")
    assert files[f"{INSTALL_PREFIX}/_internal/data"].startswith("drwxr-xr-x root/root")


def test_desktop_entry_icons_and_autostart_template(deb: Path) -> None:
    files = _listing(deb)
    assert f"/usr/share/applications/{DESKTOP_ID}.desktop" in files
    for size in icons.HICOLOR_SIZES:
        assert f"/usr/share/icons/hicolor/{size}x{size}/apps/{DESKTOP_ID}.png" in files
    assert f"/usr/share/icons/hicolor/scalable/apps/{DESKTOP_ID}.svg" in files
    assert debian.AUTOSTART_TEMPLATE in files
    assert "/usr/share/doc/lattice-rt/copyright" in files


def test_nothing_under_etc_so_removal_leaves_no_conffiles(deb: Path, tmp_path: Path) -> None:
    assert not [path for path in _listing(deb) if path.startswith("/etc")]
    control = tmp_path / "control"
    subprocess.run(["dpkg-deb", "--control", str(deb), str(control)], check=True)
    assert not (control / "conffiles").exists()
    # No postrm either: with one, dpkg -r keeps the package in "config-files" state.
    assert sorted(p.name for p in control.iterdir()) == ["control", "md5sums", "postinst"]


def test_md5sums_cover_every_regular_file(deb: Path, tmp_path: Path) -> None:
    control = tmp_path / "control"
    subprocess.run(["dpkg-deb", "--control", str(deb), str(control)], check=True)
    summed = {line.split("  ", 1)[1] for line in (control / "md5sums").read_text().splitlines()}
    regular = {
        path.lstrip("/") for path, entry in _listing(deb).items() if entry.startswith("-")
    }
    assert summed == regular


def test_postinst_is_valid_sh_and_guards_every_tool() -> None:
    text = debian.maintainer_script("postinst")
    subprocess.run(["sh", "-n"], input=text, text=True, check=True)
    for tool in ("update-desktop-database", "gtk-update-icon-cache"):
        assert f"command -v {tool} >/dev/null 2>&1" in text


def test_postinst_refreshes_only_existing_caches(tmp_path: Path) -> None:
    """Run postinst with stand-in tools on PATH: no cache file, no call."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    for tool in ("update-desktop-database", "gtk-update-icon-cache"):
        path = bin_dir / tool
        path.write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\n')
        path.chmod(0o755)
    script = tmp_path / "postinst"
    script.write_text(debian.maintainer_script("postinst"))
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    subprocess.run(["sh", str(script), "configure"], env=env, check=True)
    ran = calls.read_text().splitlines() if calls.exists() else []
    expected = []
    if Path("/usr/share/applications/mimeinfo.cache").is_file():
        expected.append("update-desktop-database -q /usr/share/applications")
    if Path("/usr/share/icons/hicolor/icon-theme.cache").is_file():
        expected.append("gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor")
    assert ran == expected


@pytest.mark.parametrize("script", ["preinst", "prerm", "postrm"])
def test_other_maintainer_scripts_are_refused(script: str) -> None:
    with pytest.raises(ValueError, match="only postinst is shipped"):
        debian.maintainer_script(script)


def test_control_description_is_well_formed(bundle: Path) -> None:
    text = debian.control_text(_inputs(bundle), installed_size_kib=1234)
    lines = text.splitlines()
    synopsis = next(line for line in lines if line.startswith("Description: "))
    assert len(synopsis) - len("Description: ") <= 80
    body = lines[lines.index(synopsis) + 1 :]
    assert body and all(line.startswith(" ") and len(line) <= 80 for line in body)
    assert "Installed-Size: 1234" in lines


def test_stage_refuses_a_bundle_without_both_programs(bundle: Path, tmp_path: Path) -> None:
    (bundle / CLI_EXE).unlink()
    with pytest.raises(debian.DebError, match=f"has no {CLI_EXE} executable"):
        debian.stage(_inputs(bundle), tmp_path / "staging")


# ------------------------------------------------------------ the team server
def _extract(deb: Path, tmp_path: Path) -> Path:
    root = tmp_path / "extracted"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def test_the_team_server_unit_and_proxy_examples_are_shipped(deb: Path, tmp_path: Path) -> None:
    files = _listing(deb)
    assert files[debian.SERVICE_UNIT].startswith("-rw-r--r-- root/root")
    for name in debian.PROXY_FILES:
        assert files[f"{debian.PROXY_EXAMPLES}/{name}"].startswith("-rw-r--r-- root/root")
    unit = (_extract(deb, tmp_path) / debian.SERVICE_UNIT.lstrip("/")).read_text()
    assert unit == (ROOT / "packaging" / "systemd" / "lattice-rt.service").read_text()
    directives = {line.strip() for line in unit.splitlines() if not line.startswith("#")}
    for directive in (
        "DynamicUser=yes", "StateDirectory=lattice-rt", "ProtectSystem=strict",
        "NoNewPrivileges=yes", "Environment=LATTICE_RT_DATA_DIR=%S/lattice-rt",
        f"ExecStart=/usr/bin/{CLI_EXE} serve $LATTICE_RT_SERVE_ARGS", "KillSignal=SIGTERM",
    ):
        assert directive in directives


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_the_unit_passes_systemd_analyze(deb: Path, tmp_path: Path) -> None:
    """``verify`` (syntax, directives, the command) and the sandbox's exposure score.

    The package is not installed here, so the program the unit starts is
    replaced by one that exists; test_installed_deb.py verifies the unit as
    installed.
    """
    shipped = (_extract(deb, tmp_path) / debian.SERVICE_UNIT.lstrip("/")).read_text()
    unit = tmp_path / "lattice-rt.service"
    unit.write_text(shipped.replace(f"ExecStart=/usr/bin/{CLI_EXE} ", "ExecStart=/bin/echo "))
    verify = subprocess.run(["systemd-analyze", "verify", str(unit)],
                            capture_output=True, text=True, check=False)
    assert (verify.returncode, verify.stdout + verify.stderr) == (0, "")
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(unit)],
        capture_output=True, text=True, check=False,
    )  # exposure is 0..10, threshold in tenths: 2.0 or less ("OK")
    assert security.returncode == 0, security.stdout[-2000:]


def test_the_units_documented_arguments_are_valid_serve_options() -> None:
    """The drop-in the unit's comment shows (and the README) parses as ``serve`` options."""
    import shlex

    from lattice_rt_core import cli

    unit = (ROOT / "packaging" / "systemd" / "lattice-rt.service").read_text()
    examples = [line.split("LATTICE_RT_SERVE_ARGS=", 1)[1].rstrip('"')
                for line in unit.splitlines()
                if line.startswith("#") and "LATTICE_RT_SERVE_ARGS=" in line]
    assert len(examples) == 2
    for example in examples:
        argv = ["serve", *shlex.split(example.replace("%d", "/run/credentials/lattice-rt"))]
        args = cli.build_parser().parse_args(argv)
        assert args.handler is not None


def test_the_unit_gives_the_server_descriptors_for_its_documented_capacity() -> None:
    """BENCHMARKS.md holds 10,000 streams; systemd's default 1,024 descriptors would not."""
    # fails without: LimitNOFILE= in the unit (issue 20: 1,006 unfinished heads filled
    # the default limit and every real request failed)
    import re

    from lattice_rt_core.protocol.defaults import MAX_CLIENT_CONNECTIONS

    unit = (ROOT / "packaging" / "systemd" / "lattice-rt.service").read_text()
    limits = re.findall(r"^LimitNOFILE=(\d+)$", unit, re.MULTILINE)
    assert len(limits) == 1, "the unit sets no LimitNOFILE (or more than one)"
    held = re.search(r"^\| ([\d,]+) idle streams \|", (ROOT / "BENCHMARKS.md").read_text(),
                     re.MULTILINE)
    assert held is not None, "BENCHMARKS.md no longer says how many streams a server holds"
    streams = int(held[1].replace(",", ""))
    assert int(limits[0]) >= 2 * streams + MAX_CLIENT_CONNECTIONS
