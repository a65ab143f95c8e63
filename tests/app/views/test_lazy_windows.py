"""A window built at its first showing, and what it was told before (issue 23)."""

from __future__ import annotations

from lattice_rt_tray.views.actions import AppActions
from lattice_rt_tray.views.activity_model import ActivityModel
from lattice_rt_tray.views.activity_window import DEFAULT_INTRO, ActivityWindow
from lattice_rt_tray.views.lazy_windows import LazyActivity


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def lazy(qtbot, clock: Clock | None = None, **kwargs) -> tuple[LazyActivity, list[ActivityWindow]]:
    """A holder whose windows are recorded (and deleted with the test) as they are made."""
    made: list[ActivityWindow] = []
    model, actions = ActivityModel(), AppActions()

    def make() -> ActivityWindow:
        window = ActivityWindow(model, actions)
        qtbot.addWidget(window)
        made.append(window)
        return window

    return LazyActivity(make, clock=clock or Clock(), **kwargs), made


def test_asking_about_a_window_not_built_builds_nothing(qtbot):
    holder, made = lazy(qtbot, main_window=True)
    holder.set_connection_summary("Connecting…", "warning")
    holder.set_intro("Connecting to this computer…")
    holder.show_message("a problem", 10_000)
    holder.hide()
    holder.main_window = False
    assert not holder.is_visible() and holder.window is None and made == []


def test_what_it_was_told_is_applied_when_it_is_built(qtbot):
    holder, made = lazy(qtbot, main_window=True)
    holder.set_connection_summary("Team: refused", "error")
    holder.set_intro("first")
    holder.set_intro("Connecting to this computer…")  # the last one counts
    holder.show_message("a problem", 0)  # until the next message
    with qtbot.waitSignal(holder.built) as built:
        window = holder.get()
    assert built.args == [window] and made == [window]
    assert window.main_window
    assert window.connection_label.full_text() == "✖ Team: refused"
    assert window.connection_level == "error"
    assert window.intro == "Connecting to this computer…"
    assert window.empty_text.text() == "Connecting to this computer…"
    assert window.statusBar().currentMessage() == "a problem"
    assert holder.get() is window and made == [window]  # built once


def test_once_built_it_is_told_directly(qtbot):
    holder, _made = lazy(qtbot)
    window = holder.get()
    assert not window.main_window and window.intro is None
    assert window.empty_text.text() == DEFAULT_INTRO
    holder.set_connection_summary("Connected", "ok")
    holder.set_intro("Nothing yet")
    holder.show_message("copied", 3000)
    holder.main_window = True
    assert window.connection_label.full_text() == "● Connected"
    assert window.intro == "Nothing yet"
    assert window.statusBar().currentMessage() == "copied"
    assert window.main_window


def test_a_message_kept_for_the_window_shows_only_while_it_lasts(qtbot):
    clock = Clock()
    holder, _made = lazy(qtbot, clock)
    holder.show_message("a problem", 10_000)
    clock.now += 4.0
    assert holder.get().statusBar().currentMessage() == "a problem"

    holder, _made = lazy(qtbot, clock)
    holder.show_message("an old problem", 10_000)
    clock.now += 10.0  # it would have gone from a window built at start
    assert holder.get().statusBar().currentMessage() == ""
