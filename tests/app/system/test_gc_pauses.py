"""After startup the app takes what lives on out of the collector's full passes, once."""

from __future__ import annotations

import gc
import weakref

from lattice_rt_tray import main
from lattice_rt_tray.system.gc_pauses import freeze_survivors


class Node:
    pass


def test_freeze_survivors_collects_garbage_first_and_freezes_the_rest():
    cycle = Node()
    cycle.me = cycle  # garbage only the cyclic collector can free
    dead = weakref.ref(cycle)
    del cycle
    alive = [Node()]
    ticks = iter([10.0, 10.5])
    try:
        frozen = freeze_survivors(clock=lambda: next(ticks))
        assert dead() is None  # collected, not frozen forever
        assert frozen > 0 and gc.get_freeze_count() > 0
        assert not any(obj is alive for obj in gc.get_objects())  # out of the collector's sight
    finally:
        gc.unfreeze()
    assert any(obj is alive for obj in gc.get_objects())


def test_the_running_app_freezes_once_after_its_first_catch_up(harness, settings, monkeypatch):
    freezes: list[int] = []
    monkeypatch.setattr(main, "freeze_survivors", lambda: freezes.append(1) or 0)
    app = harness.build(settings)
    main.settle_after_startup(app)
    assert freezes == []
    harness.start(app)  # waits for caught_up
    assert freezes == [1]
    app.controller.caught_up.emit("local")  # a reconnect catches up again: nothing more
    assert freezes == [1]
