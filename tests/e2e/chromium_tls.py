"""Make headless Chromium trust a test certificate and reach a test host name."""

from __future__ import annotations

import base64
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.conftest import TlsFiles


def trust_flags(tls: TlsFiles, *names: str) -> list[str]:
    """Flags that accept the test server certificate and resolve ``names`` to loopback.

    ``--ignore-certificate-errors-spki-list`` accepts exactly the certificates
    with that public key (the test CA is in no trust store Chromium reads);
    everything else about TLS (hostname, validity) is still checked.
    """
    leaf = x509.load_pem_x509_certificates(tls.cert.read_bytes())[0]
    spki = leaf.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    flags = [f"--ignore-certificate-errors-spki-list="
             f"{base64.b64encode(hashlib.sha256(spki).digest()).decode()}"]
    if names:
        rules = ", ".join(f"MAP {name} 127.0.0.1" for name in names)
        flags.append(f"--host-resolver-rules={rules}")
    return flags
