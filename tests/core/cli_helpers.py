"""Running the lattice-rt command line in process and reading what it said."""

from __future__ import annotations

import pytest

from lattice_rt_core import cli


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def assert_one_error_line(err: list[str], *fragments: str) -> None:
    errors = [line for line in err if "error" in line]
    assert len(errors) == 1, err
    for fragment in fragments:
        assert fragment in errors[0]
    assert not any("Traceback" in line for line in err)
