"""Key material for the payment protocol tests, made with ``cryptography`` the way each provider's tooling makes it:
RSA 2048 key pairs (Alipay's key tool, WeChat's merchant and platform keys) and a self-signed X.509 certificate
standing in for a WeChat Pay platform certificate."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class KeyPair:
    private: rsa.RSAPrivateKey

    @property
    def private_pem(self) -> str:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    @property
    def public_base64(self) -> str:
        """The one-line form Alipay's console shows: base64 of the SubjectPublicKeyInfo DER, no PEM armour."""
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self.private.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            return False
        return True


def new_keypair(bits: int = 2048) -> KeyPair:
    return KeyPair(rsa.generate_private_key(public_exponent=65537, key_size=bits))


def certificate_pem(
    key: KeyPair,
    serial: int,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    common_name: str = "Tenpay.com Root CA",
) -> str:
    start = not_before or datetime.now(UTC) - timedelta(days=1)
    end = not_after or datetime.now(UTC) + timedelta(days=365 * 5)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.private.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key.private, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()
