"""The data directory: location, private mode, reading server.json and the token."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from lattice_rt_core import paths


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_default_data_dir_honours_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LATTICE_RT_DATA_DIR", str(tmp_path / "elsewhere"))
    assert paths.default_data_dir() == tmp_path / "elsewhere"


def test_default_data_dir_expands_the_home_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LATTICE_RT_DATA_DIR", "~/lrt-data")
    assert paths.default_data_dir() == Path.home() / "lrt-data"


@pytest.mark.skipif(sys.platform != "linux", reason="the XDG layout is Linux only")
def test_default_data_dir_is_the_platform_user_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LATTICE_RT_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert paths.default_data_dir() == tmp_path / "xdg" / "lattice-rt"


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_ensure_data_dir_creates_parents_private(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    assert paths.ensure_data_dir(target) == target
    assert target.is_dir()
    assert mode(target) == 0o700


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_ensure_data_dir_fixes_a_loose_mode(tmp_path: Path) -> None:
    target = tmp_path / "data"
    target.mkdir(mode=0o755)
    target.chmod(0o755)
    paths.ensure_data_dir(target)
    assert mode(target) == 0o700


def test_ensure_data_dir_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(NotADirectoryError, match="not a directory"):
        paths.ensure_data_dir(target)


def test_database_path_is_in_the_data_dir(tmp_path: Path) -> None:
    assert paths.database_path(tmp_path) == tmp_path / "lattice-rt.sqlite"


def test_read_server_info(tmp_path: Path) -> None:
    info = {"url": "http://127.0.0.1:9999", "pid": 42, "version": "0.1.0", "auth": True}
    (tmp_path / "server.json").write_text(json.dumps(info))
    assert paths.read_server_info(tmp_path) == info


@pytest.mark.parametrize(
    "content",
    [None, "", "not json", "[1, 2]", '{"pid": 1}', '{"url": 5}', '{"url": ""}', b"\xff\xfe"],
)
def test_read_server_info_treats_unusable_files_as_absent(
    tmp_path: Path, content: str | bytes | None
) -> None:
    if isinstance(content, bytes):
        (tmp_path / "server.json").write_bytes(content)
    elif content is not None:
        (tmp_path / "server.json").write_text(content)
    assert paths.read_server_info(tmp_path) is None


def test_read_owner_token_strips_the_newline(tmp_path: Path) -> None:
    (tmp_path / "owner.token").write_text("abc123\n")
    assert paths.read_owner_token(tmp_path) == "abc123"


@pytest.mark.parametrize("content", [None, "", "\n  \n"])
def test_read_owner_token_none_when_missing_or_empty(
    tmp_path: Path, content: str | None
) -> None:
    if content is not None:
        (tmp_path / "owner.token").write_text(content)
    assert paths.read_owner_token(tmp_path) is None
