"""What the bundle carries, what it leaves to Depends, and when it is rebuilt."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lrt_build import depends, trim
from lrt_build.bundle import bundle_fingerprint

linux_only = pytest.mark.skipif(
    sys.platform != "linux" or shutil.which("dpkg-query") is None, reason="needs Debian"
)


@pytest.mark.parametrize(
    ("dest", "source", "kept"),
    [
        # The distribution's libraries are Depends, whatever PyInstaller found.
        ("libxcb.so.1", "/lib/x86_64-linux-gnu/libxcb.so.1", False),
        ("libfontconfig.so.1", "/usr/lib/x86_64-linux-gnu/libfontconfig.so.1", False),
        ("libssl.so.3", "/usr/lib64/libssl.so.3", False),
        # What pip and the interpreter brought stays.
        ("libpython3.11.so.1.0", "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0", True),
        (
            "PySide6/Qt/lib/libQt6Gui.so.6",
            "/work/.venv/lib/python3.11/site-packages/PySide6/Qt/lib/libQt6Gui.so.6",
            True,
        ),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", "/venv/PySide6/plugins/libqxcb.so", True),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", "/venv/x/libqwayland.so", True),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", "/venv/x/libqoffscreen.so", True),
        ("PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so", "/venv/x/p.so", True),
        # Plugins a tray app never loads, and the libraries only they need.
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", "/venv/x/libqgtk3.so", False),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", "/venv/x/libqeglfs.so", False),
        ("PySide6/Qt/plugins/tls/libqopensslbackend.so", "/venv/x/t.so", False),
        ("PySide6/Qt/plugins/generic/libqevdevmouseplugin.so", "/venv/x/g.so", False),
        ("PySide6/Qt/lib/libQt6EglFSDeviceIntegration.so.6", "/venv/x/e.so.6", False),
        ("libQt6EglFsKmsSupport.so.6", "/venv/x/k.so.6", False),
    ],
)
def test_keep_binary(dest: str, source: str, kept: bool) -> None:
    assert trim.keep_binary(dest, source) is kept


def test_links_to_left_out_libraries_are_dropped_too() -> None:
    toc = [
        ("libQt6Core.so.6", "PySide6/Qt/lib/libQt6Core.so.6", "SYMLINK"),
        ("libQt6EglFsKmsSupport.so.6", "PySide6/Qt/lib/libQt6EglFsKmsSupport.so.6", "SYMLINK"),
        ("PySide6/Qt/lib/libfoo.so", "libfoo.so.1", "SYMLINK"),
        ("certifi/cacert.pem", "/venv/certifi/cacert.pem", "DATA"),
    ]
    present = {"PySide6/Qt/lib/libQt6Core.so.6", "PySide6/Qt/lib/libfoo.so.1"}
    assert trim.drop_dangling_symlinks(toc, present) == [toc[0], toc[2], toc[3]]


def test_parse_ldd() -> None:
    output = (
        "\tlinux-vdso.so.1 (0x00007ffd6b1f2000)\n"
        "\tlibQt6Core.so.6 => /opt/lattice-rt/_internal/libQt6Core.so.6 (0x00007f0000000000)\n"
        "\tlibxcb-cursor.so.0 => not found\n"
        "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f1234560000)\n"
        "\t/lib64/ld-linux-x86-64.so.2 (0x00007f7777770000)\n"
    )
    found, missing = depends.parse_ldd(output)
    assert found == {
        "libQt6Core.so.6": "/opt/lattice-rt/_internal/libQt6Core.so.6",
        "libc.so.6": "/lib/x86_64-linux-gnu/libc.so.6",
    }
    assert missing == {"libxcb-cursor.so.0"}


@pytest.fixture
def tiny_bundle(tmp_path: Path) -> Path:
    """A folder whose one ELF file is a copy of a system program (links libc)."""
    bundle = tmp_path / "bundle"
    (bundle / "_internal").mkdir(parents=True)
    program = shutil.which("true")
    assert program is not None
    shutil.copyfile(program, bundle / "lattice-rt")
    (bundle / "lattice-rt").chmod(0o755)
    (bundle / "_internal" / "notes.txt").write_text("not ELF")
    return bundle


@linux_only
def test_depends_come_from_what_the_bundle_links(tiny_bundle: Path) -> None:
    report = depends.link_report(tiny_bundle)
    assert report.missing == {}
    assert depends.elf_files(tiny_bundle) == [tiny_bundle / "lattice-rt"]
    field = depends.depends_field(report)
    entries = [entry.strip() for entry in field.split(",")]
    libc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "libc6"], capture_output=True, text=True, check=True
    ).stdout
    assert entries[0] == f"libc6 (>= {libc.split(':')[-1].rsplit('-', 1)[0]})"
    assert entries[-len(depends.RUNTIME_DEPENDS) :] == list(depends.RUNTIME_DEPENDS)


@linux_only
def test_needed_sonames_are_the_direct_links_only(tiny_bundle: Path) -> None:
    needed = depends.needed_sonames(tiny_bundle / "lattice-rt")
    assert "libc.so.6" in needed
    assert not [name for name in needed if name.startswith("ld-linux")]


@linux_only
def test_a_file_readelf_cannot_read_is_an_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.so"
    bogus.write_bytes(b"\x7fELF garbage")
    with pytest.raises(depends.DependsError, match="readelf cannot read"):
        depends.needed_sonames(bogus)


@linux_only
def test_a_library_that_does_not_resolve_stops_the_build(tiny_bundle: Path) -> None:
    report = depends.link_report(tiny_bundle)
    report.missing["libnot-there.so.7"] = {tiny_bundle / "lattice-rt"}
    with pytest.raises(depends.DependsError, match=r"libnot-there\.so\.7 \(needed by lattice-rt\)"):
        depends.depends_field(report)


@linux_only
def test_a_library_no_package_owns_stops_the_build(tmp_path: Path) -> None:
    stray = tmp_path / "libstray.so.1"
    stray.write_bytes(b"\x7fELF")
    with pytest.raises(depends.DependsError, match="no installed Debian package owns"):
        depends.owning_packages([str(stray)])


@linux_only
def test_owning_packages_finds_a_library_through_its_symlinks() -> None:
    found, _missing = depends.parse_ldd(
        subprocess.run(["ldd", shutil.which("true") or "/bin/true"],
                       capture_output=True, text=True, check=True).stdout
    )
    owners = depends.owning_packages([found["libc.so.6"]])
    assert owners == {found["libc.so.6"]: "libc6"}


def _fake_root(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "lattice_rt_core").mkdir(parents=True)
    (root / "lattice_rt_core" / "mod.py").write_text("X = 1\n")
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n')
    return root


def test_fingerprint_is_stable_while_nothing_changes(tmp_path: Path) -> None:
    root = _fake_root(tmp_path)
    assert bundle_fingerprint(root) == bundle_fingerprint(root)


def test_fingerprint_ignores_bytecode_caches(tmp_path: Path) -> None:
    root = _fake_root(tmp_path)
    before = bundle_fingerprint(root)
    (root / "lattice_rt_core" / "__pycache__").mkdir()
    (root / "lattice_rt_core" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    assert bundle_fingerprint(root) == before


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "lattice_rt_core" / "mod.py").write_text("X = 2\n"),
        lambda root: (root / "lattice_rt_core" / "new.py").write_text("import json\n"),
        lambda root: (root / "pyproject.toml").write_text('[project]\nname = "y"\n'),
        lambda root: (root / "app" / "lattice_rt_tray").mkdir(parents=True)
        or (root / "app" / "lattice_rt_tray" / "icon.png").write_bytes(b"png"),
    ],
    ids=["edited module", "new module", "pyproject", "app data"],
)
def test_fingerprint_changes_with_any_input(tmp_path: Path, change) -> None:  # type: ignore[no-untyped-def]
    root = _fake_root(tmp_path)
    before = bundle_fingerprint(root)
    change(root)
    assert bundle_fingerprint(root) != before
