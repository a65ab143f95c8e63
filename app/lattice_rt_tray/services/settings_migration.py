"""A ``tray.ini`` of the one-server format, moved to connections once.

Until issue 10 the app followed one endpoint: ``server/mode`` (``embedded``
or ``remote``), ``server/port``, ``server/url``, ``server/token`` in clear,
and ``stream/last_event_id_<hash>`` per endpoint (the hash of
``embedded:<data dir>`` or ``remote:<url>``). :func:`migrate` turns that into
the embedded connection (on unless the file followed a server) plus, when a
URL was set, a remote connection named after its host (on when it was the one
followed). The token stays in the file for the moment; the token vault moves
it into the keyring on start and removes it from the file. A resume point
becomes the connection's *legacy* point, used once, and only when it is not
ahead of the server (the old format could hold the wrong server's seq).
``presence/*`` (the general defaults) and ``notify/*`` keep their keys.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlsplit

from PySide6.QtCore import QSettings

from lattice_rt_core.protocol.defaults import DEFAULT_PORT
from lattice_rt_tray.logic.settings_values import LOCAL_KEY, new_connection_key

__all__ = ["SETTINGS_VERSION", "migrate"]

SETTINGS_VERSION = 2  # 1: one server (implicit); 2: connections
_VERSION_KEY = "app/settings_version"
_OLD_KEYS = ("server/mode", "server/port", "server/url", "server/token")


def migrate(store: QSettings, data_dir: Path) -> bool:
    """Migrate ``store`` in place; True when there was something of the old format."""
    if _int(store.value(_VERSION_KEY, 0)) >= SETTINGS_VERSION:
        return False
    old = any(store.contains(key) for key in _OLD_KEYS) or "stream" in store.childGroups()
    if old:
        _move(store, data_dir)
    store.setValue(_VERSION_KEY, SETTINGS_VERSION)
    return old


def _move(store: QSettings, data_dir: Path) -> None:
    followed_remote = str(store.value("server/mode", "")) == "remote"
    url = str(store.value("server/url", "") or "").strip().rstrip("/")
    token = str(store.value("server/token", "") or "").strip()
    order = [LOCAL_KEY]
    store.setValue(f"connection/{LOCAL_KEY}/port", _int(store.value("server/port", DEFAULT_PORT),
                                                       DEFAULT_PORT))
    store.setValue(f"connection/{LOCAL_KEY}/enabled", not followed_remote)
    _legacy(store, LOCAL_KEY, f"embedded:{data_dir}")
    if url:
        key = new_connection_key()
        order.append(key)
        base = f"connection/{key}/"
        store.setValue(base + "name", _host(url))
        store.setValue(base + "url", url)
        store.setValue(base + "enabled", followed_remote)
        if token:
            store.setValue(base + "token", token)
        _legacy(store, key, f"remote:{url}")
    store.setValue("connections/order", ",".join(order))
    store.remove("server")
    store.remove("stream")


def _legacy(store: QSettings, key: str, identity: str) -> None:
    """The old resume point of the endpoint ``identity`` (the old format's key)."""
    old = "stream/last_event_id_" + hashlib.sha1(identity.encode()).hexdigest()[:12]
    seq = _int(store.value(old, -1), -1)
    if seq >= 0:
        store.setValue(f"resume/{key}/legacy", seq)


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def _int(value: object, default: int = 0) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default
