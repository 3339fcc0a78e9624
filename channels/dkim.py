"""DKIM signatures on outgoing mail (RFC 6376), made with dkimpy: rsa-sha256, relaxed/relaxed.

The key is ``BUDSTIKKE_DKIM_PRIVATE_KEY_FILE`` (an RSA key in PEM, PKCS#1 or PKCS#8;
2048 bits is the usual size), the selector ``BUDSTIKKE_DKIM_SELECTOR``, and the signing
domain (``d=``) the domain of ``BUDSTIKKE_SMTP_FROM``, so the signature aligns with the
``From`` address for DMARC. Receivers look the public key up as a TXT record at
``<selector>._domainkey.<domain>``; :meth:`DkimSigner.dns_record` gives its value.

The headers in :data:`SIGNED_HEADERS` are signed whether or not a mail carries them: a
header that is absent when signing cannot be added later without breaking the
signature, so nobody on the way can add a ``Reply-To`` or an unsubscribe link.

dkimpy does the RSA arithmetic in pure Python (about 8 ms per mail for a 2048-bit key),
so the email channel signs in a worker thread rather than on the event loop.
"""

from __future__ import annotations

import base64
from email.utils import parseaddr
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dkim.crypto import UnparsableKeyError, parse_pem_private_key

from gateway.config import Settings
from gateway.errors import ConfigError

SIGNED_HEADERS = (
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"Reply-To",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
    b"MIME-Version",
    b"Content-Type",
)
CANONICALIZE = (b"relaxed", b"relaxed")
MIN_KEY_BITS = 1024  # RFC 8301: verifiers must refuse smaller keys


class DkimSigner:
    """Signs flattened messages with one key, selector and domain."""

    def __init__(self, private_key: bytes, selector: str, domain: str) -> None:
        self._public = _public_key(private_key)
        self._private = private_key
        self.selector = selector
        self.domain = domain

    @classmethod
    def from_settings(cls, settings: Settings) -> DkimSigner | None:
        """The signer the settings describe; None when DKIM (or the sender) is not set.

        Raises ConfigError naming the variable when the key file cannot be read or holds
        no usable RSA key, so a bad key stops startup instead of every mail.
        """
        path = settings.dkim_private_key_file
        sender = parseaddr(settings.smtp_from or "")[1]
        if path is None or not settings.dkim_selector or "@" not in sender:
            return None
        domain = sender.rpartition("@")[2].lower()
        try:
            return cls(_read(path), settings.dkim_selector, domain)
        except ValueError as exc:
            raise ConfigError(f"BUDSTIKKE_DKIM_PRIVATE_KEY_FILE={path}: {exc}") from exc

    @property
    def record_name(self) -> str:
        """Where receivers look the key up: ``<selector>._domainkey.<domain>``."""
        return f"{self.selector}._domainkey.{self.domain}"

    def dns_record(self) -> str:
        """The TXT record value to publish at :attr:`record_name`."""
        return dns_record_value(self._public)

    def sign(self, message: bytes) -> bytes:
        """``message`` (flattened, CRLF line ends) with a ``DKIM-Signature`` header in front."""
        signature: bytes = dkim.sign(
            message,
            self.selector.encode("ascii"),
            self.domain.encode("ascii"),
            self._private,
            include_headers=list(SIGNED_HEADERS),
            canonicalize=CANONICALIZE,
        )
        return signature + message


def dns_record_value(public_key: rsa.RSAPublicKey) -> str:
    """``v=DKIM1; k=rsa; p=…`` for a public key (DER SubjectPublicKeyInfo, base64)."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read the key file ({exc.strerror or exc})") from exc


def _public_key(pem: bytes) -> rsa.RSAPublicKey:
    """The public half of an RSA PEM key; ValueError for anything else."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError("not an unencrypted PEM private key") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("DKIM signing here needs an RSA key")
    if key.key_size < MIN_KEY_BITS:
        raise ValueError(f"the RSA key has {key.key_size} bits; use at least 2048")
    try:
        parse_pem_private_key(pem)  # the parser dkimpy itself will use
    except UnparsableKeyError as exc:
        raise ValueError(f"dkimpy cannot read the key ({exc})") from exc
    return key.public_key()
