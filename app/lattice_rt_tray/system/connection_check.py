"""The Settings dialog's "Test connection", answered in one sentence (blocking; no Qt).

:func:`check_connection` runs on a worker thread. It asks the server's
``/realtime/health`` with the token, which proves it can be reached, that
its certificate is trusted (system store plus the connection's CA file),
whether the token is accepted (the answer then names the user) and which
workspaces the user is a member of (``workspaces``: null for the owner, who
sees every one); the connection's workspaces are compared with those.
Nothing is joined or published.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lattice_rt_core.net.api import ApiError, ServerKind
from lattice_rt_tray.logic.connection_types import ClientFactory
from lattice_rt_tray.logic.settings_values import ConnectionSettings
from lattice_rt_tray.logic.text import and_list

__all__ = ["CheckResult", "check_connection"]

_UNTRUSTED = "certificate verify failed for "


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    text: str


def check_connection(
    settings: ConnectionSettings,
    workspaces: Sequence[str],
    client_factory: ClientFactory,
    *,
    url: str | None = None,
    token: str | None = None,
) -> CheckResult:
    """Test ``settings`` (``url``/``token``: where the embedded endpoint runs, its owner token)."""
    name = settings.name
    if settings.embedded and not url:
        return CheckResult(False, f"The endpoint on this computer is not running ({name} is "
                                  "off or could not start).")
    where = (url or settings.url).rstrip("/")
    secret = token if settings.embedded else (settings.token or None)
    try:
        client = client_factory(where, secret, ca_file=settings.ca_file or None)
    except ApiError as exc:
        return CheckResult(False, _sentence(f"The CA file cannot be used: {exc.message}"))
    except ValueError as exc:
        return CheckResult(False, _sentence(str(exc)))
    try:
        answer = client.hello()
        if client.kind is ServerKind.LATTICE_AI:
            client.presence()  # the feed may be open to all; presence says if the token is
    except ApiError as exc:
        return CheckResult(False, _unreachable(where, exc))
    finally:
        client.close()
    if client.kind is ServerKind.LATTICE_AI:
        return CheckResult(True, f"Connected to {settings.name}, a Lattice AI server: its events "
                                 "and who is present (it keeps no status, and replays only its "
                                 "newest events after a break).")
    user = answer.get("user")
    if not isinstance(user, str):
        if secret:
            return CheckResult(False, f"{where} answers, but the token was refused.")
        return CheckResult(False, f"{where} answers, but needs a token.")
    return _membership(name, user, answer.get("workspaces", ()), tuple(workspaces),
                       has_list="workspaces" in answer)


def _membership(name: str, user: str, member_of: object, wanted: tuple[str, ...],
                *, has_list: bool) -> CheckResult:
    who = f"Connected to {name} as {user}" if user else f"Connected to {name} (no authentication)"
    if not has_list:
        return CheckResult(True, f"{who}; this server is too old to say where you are a member.")
    if member_of is None:
        return CheckResult(True, f"{who}; you see every workspace.")
    member = sorted(str(w) for w in member_of) if isinstance(member_of, list) else []
    if not wanted:
        if not member:
            return CheckResult(False, f"{who}, a member of no workspace: the server will refuse "
                                      "presence.")
        return CheckResult(False, f"{who}; set at least one of your workspaces "
                                  f"({and_list(member)}): without one the server refuses presence.")
    missing = [w for w in wanted if w not in member]
    if missing:
        also = f" (member of {and_list(member)})" if member else ""
        return CheckResult(False, f"{who}, but not a member of {and_list(missing)}{also}.")
    return CheckResult(True, f"{who}; member of {and_list(list(wanted))}.")


def _unreachable(where: str, exc: ApiError) -> str:
    if exc.unsupported:
        return _sentence(f"{where} answers, but {exc.message}")
    if exc.status == 401:
        return _sentence(f"{where} needs you to sign in (HTTP 401): {exc.message}")
    if exc.status:
        return f"{where} answered {exc}: is it a Lattice realtime server?"
    message = exc.message
    if message.startswith(_UNTRUSTED):
        reason = message.partition(": ")[2]
        return _sentence(f"The certificate of {where} is not trusted: {reason}")
    return _sentence(message[:1].upper() + message[1:])


def _sentence(text: str) -> str:
    text = text.rstrip()
    return text if text.endswith((".", "?", "!")) else text + "."
