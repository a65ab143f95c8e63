"""The rules of accounts that the local database, the admin routes and their
client share: the errors of a change and the checks of names (plain Python,
no storage).
"""

from __future__ import annotations

from collections.abc import Iterable

from lattice_rt_core.protocol.limits import name_problem, same_name

__all__ = ["AccountError", "NoSuchUser", "UserExists", "check_name", "check_unlike",
           "workspaces_of"]


class AccountError(Exception):
    """An account change that cannot be made; the message is for a person."""


class UserExists(AccountError):
    """``add_user`` of a name that is taken (its token is left alone)."""


class NoSuchUser(AccountError):
    """The named user does not exist."""


def check_name(what: str, value: object) -> str:
    """``value`` when it is a valid name (the API's one rule, limits.name_problem)."""
    problem = name_problem(value)
    if problem is not None:
        raise ValueError(f"{what} {problem}")
    assert isinstance(value, str)
    return value


def check_unlike(name: str, names: Iterable[str]) -> None:
    """:class:`UserExists` when ``name`` is one of ``names`` or cannot be told from one.

    User names are unique after normalisation (limits.name_key: NFKC, case-folded,
    without invisible characters), so ``Alice`` cannot sit beside ``alice``.
    """
    existing = list(names)
    if name in existing:
        raise UserExists(f"user {name!r} already exists")
    other = same_name(name, existing)
    if other is not None:
        raise UserExists(f"user {name!r} cannot be told from the existing user {other!r} "
                         "(user names are compared without case, width and invisible "
                         "characters)")


def workspaces_of(values: Iterable[str]) -> list[str]:
    """The workspace ids of a change, checked, without duplicates, sorted."""
    if isinstance(values, str):  # one name, not its characters
        values = [values]
    return sorted({check_name("workspace id", ws) for ws in values})
