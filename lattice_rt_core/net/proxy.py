"""Which HTTP proxy a client goes through, from the environment, as curl and httpx read it.

``https_proxy`` / ``HTTPS_PROXY`` for an ``https://`` server, ``http_proxy`` /
``HTTP_PROXY`` for an ``http://`` one, ``all_proxy`` / ``ALL_PROXY`` for either
(the lower-case name wins); ``no_proxy`` / ``NO_PROXY`` lists what goes direct:
``*`` (everything), a host or IP address, or a domain (``example.org`` and
``.example.org`` both cover ``example.org`` and every name under it), each with
an optional ``:port``, or a network (``10.0.0.0/8``). A loopback server
(``localhost``, ``127.0.0.0/8``, ``::1``: the tray app's own endpoint) is never
sent through a proxy, whatever the environment says: the proxy would see the
owner's token.

Only ``http://`` proxies are spoken (a plain request to the proxy, ``CONNECT``
for TLS); another scheme (``socks5://``...) is a clear error, never a silent
direct connection.
"""

from __future__ import annotations

import base64
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from lattice_rt_core.net.api import loopback_host

__all__ = ["Proxy", "ProxyError", "proxy_for"]


class ProxyError(ValueError):
    """The environment names a proxy this client cannot use; the message says which."""


@dataclass(frozen=True, slots=True)
class Proxy:
    """An ``http://`` proxy: where it is, and its ``Proxy-Authorization`` (may be empty)."""

    host: str
    port: int
    headers: Mapping[str, str]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def proxy_for(url: str, environ: Mapping[str, str] | None = None) -> Proxy | None:
    """The proxy for a request to ``url`` (None: go direct)."""
    env = os.environ if environ is None else environ
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if loopback_host(host) or host.endswith(".localhost") \
            or _bypassed(host, port, _env(env, "no_proxy")):
        return None
    name = f"{parts.scheme}_proxy"
    value = _env(env, name) or _env(env, "all_proxy")
    if not value:
        return None
    return _parse(value, name if _env(env, name) else "all_proxy")


def _env(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or env.get(name.upper()) or "").strip()


def _bypassed(host: str, port: int, no_proxy: str) -> bool:
    for entry in no_proxy.replace(",", " ").split():
        entry = entry.lower()
        if entry == "*":
            return True
        name, _, wanted = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if wanted and wanted != str(port):
            continue
        name = name.strip("[]").lstrip(".")
        if host == name or host.endswith("." + name) or _in_network(host, name):
            return True
    return False


def _in_network(host: str, network: str) -> bool:
    if "/" not in network:
        return False
    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


def _parse(value: str, name: str) -> Proxy:
    text = value if "://" in value else "http://" + value
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port or 80
    except ValueError:
        raise ProxyError(f"{name} is not a proxy URL: {value!r}") from None
    if parts.scheme != "http":
        raise ProxyError(f"{name}={value}: only http:// proxies are supported, "
                         f"not {parts.scheme}://")
    if not host:
        raise ProxyError(f"{name} is not a proxy URL: {value!r}")
    headers: dict[str, str] = {}
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    return Proxy(host, port, headers)
