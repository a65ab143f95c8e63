"""Running the lattice-rt command line, in process or as real processes, and reading it."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from typing import IO

import pytest

from lattice_rt_core import cli

WAIT = 20.0


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


class Proc:
    """A child process whose stdout and stderr lines arrive on queues."""

    def __init__(self, *argv: str) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "lattice_rt_core.cli", *argv],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.err_lines: list[str] = []
        assert self.popen.stdout is not None and self.popen.stderr is not None
        self.pumps = [
            threading.Thread(target=self._pump, args=(pipe, q), daemon=True)
            for pipe, q in ((self.popen.stdout, self.out), (self.popen.stderr, self.err))
        ]
        for pump in self.pumps:
            pump.start()

    @staticmethod
    def _pump(pipe: IO[str], q: queue.Queue[str]) -> None:
        for line in pipe:
            q.put(line.rstrip("\n"))

    def line(self) -> str:
        return self.out.get(timeout=WAIT)

    def wait_err(self, fragment: str) -> str:
        while True:
            line = self.err.get(timeout=WAIT)
            self.err_lines.append(line)
            if fragment in line:
                return line

    def finish(self) -> int:
        code = self.popen.wait(timeout=WAIT)
        for pump in self.pumps:
            pump.join(WAIT)  # everything the child wrote is queued
        while not self.err.empty():
            self.err_lines.append(self.err.get())
        return code

    def kill(self) -> None:
        """End the child if it still runs and release its pipes."""
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()
        for pump in self.pumps:
            pump.join(WAIT)  # EOF once the child is gone
        for pipe in (self.popen.stdout, self.popen.stderr):
            if pipe is not None:
                pipe.close()
