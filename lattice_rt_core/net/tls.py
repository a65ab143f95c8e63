"""TLS for the server and every client, and one line for what went wrong.

Clients (the CLI, :class:`~lattice_rt_core.client.RealtimeClient` and the tray
app through it) verify a server's certificate against the operating system's
trust store (:mod:`truststore`: OpenSSL with the system CA files on Linux, the
Security framework on macOS, CryptoAPI on Windows), plus one extra CA file when
given: a team's own CA, without installing it system-wide.

A failed handshake becomes one sentence ("certificate verify failed for
https://...: <reason>"), never a traceback.

Nothing here imports :mod:`ssl` before it is needed (:func:`describe` looks for
TLS failures only once something has loaded it), and the trust store is read
only for an ``https://`` URL.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

__all__ = [
    "CA_FILE_ENV",
    "TlsError",
    "check_server_files",
    "client_context",
    "describe",
]

#: an extra CA file for every client command (``--ca-file`` wins)
CA_FILE_ENV = "LATTICE_RT_CA_FILE"

CaFile = str | os.PathLike[str]  # what ca_file= takes


class TlsError(Exception):
    """A certificate, key or CA file cannot be used; the message is for a person."""


def client_context(ca_file: CaFile | None = None) -> ssl.SSLContext:
    """A verifying client context: the system store, plus ``ca_file`` when given."""
    import ssl

    import truststore  # only a client of an https:// URL needs it

    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=os.fspath(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise TlsError(f"cannot use CA file {ca_file}: {_reason(exc)}") from None
    return context


def check_server_files(cert_file: Path, key_file: Path) -> None:
    """Load the certificate chain and key once, so a bad file is a clear error at start."""
    import ssl

    for path, marker, what in (
        (cert_file, b"-----BEGIN CERTIFICATE-----", "a PEM certificate"),
        (key_file, b"PRIVATE KEY-----", "a PEM private key"),
    ):
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise TlsError(f"cannot read {path}: {_reason(exc)}") from None
        if marker not in data:
            raise TlsError(f"{path} is not {what}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(os.fspath(cert_file), os.fspath(key_file), password=_no_password)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise TlsError(
            f"cannot use certificate {cert_file} with key {key_file}: {_reason(exc)}"
        ) from None


def _no_password() -> str:
    raise ValueError("the key is encrypted; give an unencrypted key file")


def describe(exc: BaseException, url: str) -> str | None:
    """One line for a TLS failure anywhere in ``exc``'s chain, else None."""
    if "ssl" not in sys.modules:  # never loaded: no TLS failure can have happened
        return None
    import ssl

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            reason = current.verify_message or _reason(current)
            return f"certificate verify failed for {url}: {reason}"
        if isinstance(current, ssl.SSLError):
            reason = _reason(current)
            hint = ""
            if "wrong version number" in reason.lower() or "record layer" in reason.lower():
                hint = " (is it a plain http:// server?)"
            return f"TLS handshake with {url} failed: {reason}{hint}"
        current = current.__cause__ or current.__context__
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:  # the SSL error was flattened into a string
        reason = text.split("certificate verify failed:", 1)[-1].split("(_ssl.c", 1)[0]
        return f"certificate verify failed for {url}: {reason.strip() or 'unknown reason'}"
    return None


def _reason(exc: BaseException) -> str:
    """The readable part of an OpenSSL error, without ``[SSL: X]`` and ``(_ssl.c:N)``."""
    import ssl

    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).replace("_", " ").lower()
    if isinstance(exc, OSError) and not isinstance(exc, ssl.SSLError) and exc.strerror:
        return exc.strerror
    text = str(exc.args[1] if isinstance(exc, ssl.SSLError) and len(exc.args) > 1 else exc)
    text = text.split(" (_ssl.c", 1)[0]
    if text.startswith("["):
        text = text.partition("] ")[2]
    if text == "PEM lib":
        return "not a valid PEM file"
    return text or type(exc).__name__
