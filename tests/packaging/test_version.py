"""One version, written in pyproject.toml, seen the same everywhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lrt_build.debian import DebError, deb_version
from lrt_build.project import ProjectError, load_project

from lattice_rt_core import version as version_module

ROOT = Path(__file__).resolve().parents[2]


def test_runtime_version_is_the_pyproject_version() -> None:
    assert version_module.__version__ == load_project(ROOT).version


def test_cli_version_is_the_pyproject_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lattice_rt_core.cli", "--version"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["lattice-rt", load_project(ROOT).version]


def test_version_of_a_distribution_that_is_not_installed_says_unknown() -> None:
    assert version_module.installed_version("lattice-rt-no-such-dist") == "0+unknown"


def test_load_project_reads_the_fields_the_installers_use(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "2.1.0rc1"\n'
        'description = "A demo."\nlicense = { text = "MIT" }\n'
    )
    project = load_project(tmp_path)
    assert (project.name, project.version, project.summary, project.license) == (
        "demo", "2.1.0rc1", "A demo.", "MIT"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        ("[project\n", "not valid TOML"),
        ('[tool.x]\na = 1\n', "no [project] table"),
        ('[project]\nname = "demo"\ndescription = "d"\n', "version must be a non-empty string"),
    ],
)
def test_load_project_explains_what_is_wrong(
    tmp_path: Path, content: str | None, message: str
) -> None:
    if content is not None:
        (tmp_path / "pyproject.toml").write_text(content)
    with pytest.raises(ProjectError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_project(tmp_path)


@pytest.mark.parametrize(
    ("pep440", "debian"),
    [
        ("0.1.0", "0.1.0"),
        ("1.2", "1.2"),
        ("1.0a1", "1.0~a1"),
        ("1.0b2", "1.0~b2"),
        ("1.0rc1", "1.0~rc1"),
        ("1.0.dev3", "1.0~~dev3"),
        ("1.0rc1.dev2", "1.0~rc1~~dev2"),
        ("1.0.post1", "1.0+post1"),
        ("1.0+local.7", "1.0+local.7"),
    ],
)
def test_deb_version_spelling(pep440: str, debian: str) -> None:
    assert deb_version(pep440) == debian


def _dpkg_less_than(a: str, b: str) -> bool:
    result = subprocess.run(["dpkg", "--compare-versions", a, "lt", b], check=False)
    return result.returncode == 0


@pytest.mark.skipif(sys.platform != "linux", reason="needs dpkg")
def test_deb_versions_sort_like_pep440() -> None:
    ascending = [
        "1.0.dev1", "1.0a1", "1.0b1", "1.0rc1.dev2", "1.0rc1", "1.0",
        "1.0.post1.dev1", "1.0.post1", "1.0.post1+local", "1.1.dev1", "1.1",
    ]
    debian = [deb_version(v) for v in ascending]
    for lower, higher in zip(debian, debian[1:], strict=False):
        assert _dpkg_less_than(lower, higher), (lower, higher)


@pytest.mark.parametrize("bad", ["1.0-rc1", "v1.0", "1.0 beta", ""])
def test_deb_version_refuses_a_version_that_is_not_normalised(bad: str) -> None:
    with pytest.raises(DebError, match="not a normalised PEP 440 version"):
        deb_version(bad)


def _record(directory: Path, name: str, version: str, kind: str = "dist-info") -> None:
    record = directory / f"{name}-{version}.{kind}"
    record.mkdir(parents=True)
    headers = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nVersion: 0.0\n"
    (record / ("METADATA" if kind == "dist-info" else "PKG-INFO")).write_text(headers)


def test_the_version_is_read_as_importlib_metadata_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.metadata

    # the installed one, a spelling of the name, and the first of two on the path
    assert version_module.installed_version() == importlib.metadata.version("lattice-rt")
    first, second = tmp_path / "first", tmp_path / "second"
    _record(first, "Demo.Dist", "2.0.1")
    _record(second, "demo_dist", "1.0")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "absent"), str(first), str(second)])
    importlib.invalidate_caches()
    for name in ("demo-dist", "Demo_Dist", "demo.dist"):
        assert version_module.installed_version(name) == "2.0.1"
        assert importlib.metadata.version(name) == "2.0.1"


@pytest.mark.parametrize(("kind", "read"), [("egg-info", "3.1"), ("two", None)])
def test_an_egg_info_is_read_too_and_two_records_are_left_to_importlib_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, read: str | None
) -> None:
    import importlib.metadata

    _record(tmp_path, "demo", "3.1", "egg-info" if kind == "egg-info" else "dist-info")
    if kind == "two":
        _record(tmp_path, "demo", "3.2")
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    importlib.invalidate_caches()
    assert version_module._dist_info_version("demo") == read
    assert version_module.installed_version("demo") == importlib.metadata.version("demo")


@pytest.mark.parametrize("where", ["elsewhere", "the source tree"])
def test_the_version_is_read_without_importlib_metadata(tmp_path: Path, where: str) -> None:
    # from the source tree (the benchmarks' PYTHONPATH) its own lattice_rt.egg-info, which
    # an editable install leaves there, is found first; from elsewhere the venv's dist-info
    code = ("import sys\nfrom lattice_rt_core.version import __version__\n"
            "print(__version__, 'importlib.metadata' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT if where == "the source tree" else tmp_path)
    assert out.stdout.split() == [load_project(ROOT).version, "False"]
