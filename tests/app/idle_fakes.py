"""A scripted idle backend for the watcher and tracker tests."""

from __future__ import annotations

import queue
import threading

from lattice_rt_tray.system.idle.base import Report, Sample


class Scripted:
    """A backend answering samples from a queue; the test holds its Report."""

    name = "scripted"
    poll_every: float | None = None

    def __init__(self) -> None:
        self.samples: queue.Queue[Sample] = queue.Queue()
        self.report: Report | None = None
        self.threads: set[threading.Thread] = set()
        self.closed = threading.Event()
        self.ready = threading.Event()  # sleep_ready() was called

    def start(self, report: Report) -> str:
        self.threads.add(threading.current_thread())
        self.report = report
        return "a script"

    def sample(self) -> Sample:
        self.threads.add(threading.current_thread())
        return self.samples.get(timeout=10)

    def sleep_ready(self) -> None:
        self.threads.add(threading.current_thread())
        self.ready.set()

    def close(self) -> None:
        self.threads.add(threading.current_thread())
        self.closed.set()


class Desk:
    """A desktop the test sets: ``idle`` seconds since the last input, answered at once."""

    name = "desk"
    poll_every: float | None = None

    def __init__(self, idle: float = 0.0) -> None:
        self.idle = idle
        self.report: Report | None = None
        self.ready = threading.Event()  # sleep_ready() was called

    def start(self, report: Report) -> str:
        self.report = report
        return "a test desk"

    def sample(self) -> Sample:
        return Sample(self.idle)

    def sleep_ready(self) -> None:
        self.ready.set()

    def close(self) -> None:
        pass
