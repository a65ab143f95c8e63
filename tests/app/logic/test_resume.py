"""ResumeGuide: where a connection's stream resumes, by the server's identity (no I/O)."""

from __future__ import annotations

from lattice_rt_tray.logic.resume import (
    Identified,
    ResumeGuide,
    ResumePoint,
    ServerIdentity,
    identity_of,
)

A1 = ServerIdentity("server-a", "epoch-1")
A2 = ServerIdentity("server-a", "epoch-2")  # the same server, its history started again
B1 = ServerIdentity("server-b", "epoch-1")


def health(identity: ServerIdentity | None, seq: int = 100) -> dict[str, object]:
    stats: dict[str, object] = {"seq": seq}
    if identity is not None:
        stats.update(server_id=identity.server_id, epoch=identity.epoch)
    return {"status": "ok", "stats": stats}


def recorded(guide: ResumeGuide) -> list[Identified]:
    seen: list[Identified] = []
    guide.on_identified = seen.append
    return seen


def test_a_known_history_resumes_where_it_stopped():
    guide = ResumeGuide({"server-a": ResumePoint(A1, 42)})
    seen = recorded(guide)
    assert guide(health(A1), None) == 42
    assert guide(health(A1), 57) == 57  # a reconnect: the client's own point
    assert [(i.identity, i.changed, i.resume) for i in seen] == [(A1, False, 42), (A1, False, 57)]
    assert guide.points(60) == {"server-a": ResumePoint(A1, 60)}


def test_a_new_epoch_or_another_server_starts_clean():
    guide = ResumeGuide({"server-a": ResumePoint(A1, 42)})
    assert guide(health(A2), None) is None  # not 42: that seq belongs to another history
    guide = ResumeGuide({"server-a": ResumePoint(A1, 42)})
    assert guide(health(B1), None) is None


def test_a_change_while_running_is_said_and_the_old_point_kept():
    guide = ResumeGuide({})
    seen = recorded(guide)
    assert guide(health(A1), None) is None
    assert guide(health(B1), 77) is None  # the server behind the URL changed: 77 is A1's
    assert seen[-1].changed and seen[-1].identity == B1
    assert guide(health(A1), 3) == 77  # back: where A1 stopped (3 is B1's)
    assert seen[-1].changed
    assert guide.points(5) == {"server-a": ResumePoint(A1, 5), "server-b": ResumePoint(B1, 3)}


def test_leaving_keeps_the_point_and_a_new_client_resumes_there():
    guide = ResumeGuide({})
    guide(health(A1), None)
    guide.leave(30)  # switched off, or another endpoint: the client is gone
    seen = recorded(guide)
    assert guide(health(A1), None) == 30  # switched on again: "while you were away"
    assert not seen[0].changed


def test_a_legacy_point_is_used_once_and_only_when_the_server_is_not_behind_it():
    assert ResumeGuide({}, legacy=40)(health(A1, seq=50), None) == 40
    assert ResumeGuide({}, legacy=77)(health(A1, seq=5), None) is None  # another server's seq
    guide = ResumeGuide({}, legacy=40)
    guide(health(None), None)
    assert guide(health(A1, seq=50), None) is None  # used up by the first connect


def test_a_server_without_an_identity_keeps_the_clients_own_point():
    guide = ResumeGuide({"server-a": ResumePoint(A1, 42)})
    assert guide(health(None), None) is None
    assert guide(health(None), 9) == 9
    assert identity_of({"stats": {"server_id": "", "epoch": "e"}}) is None
    assert identity_of({"status": "ok"}) is None
    assert identity_of(health(A1)) == A1
