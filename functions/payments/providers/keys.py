"""RSA public keys from PEM and X.509 certificates, read with a small DER reader on the standard library; and the
two operations that need ``cryptography`` (RSA signing, AES-256-GCM), imported only inside the functions that use
them.

Why hand-written: verifying a provider's callback is the hot path of the callback function, and the code asset
carries no third-party packages (``functions/shared/jwt.py`` made the same choice for Cognito tokens). Verification
is ``functions.shared.jwt.rsa_pkcs1_sha256_verify`` (RSASSA-PKCS1-v1_5 with SHA-256, i.e. SHA256withRSA), which only
needs the modulus and the exponent; this module finds them in:

* a SubjectPublicKeyInfo (``-----BEGIN PUBLIC KEY-----``, RFC 5280 §4.1.2.7), which is also what Alipay's console
  hands out as one bare base64 line without PEM armour, and what WeChat Pay's "platform public key" mode uses;
* a PKCS#1 RSAPublicKey (``-----BEGIN RSA PUBLIC KEY-----``, RFC 8017 §A.1.1);
* an X.509 certificate (``-----BEGIN CERTIFICATE-----``, RFC 5280 §4.1): the serial number (WeChat's
  ``Wechatpay-Serial``), the validity window and the subject public key. The certificate's own signature is not
  checked: the certificate is configuration we were given, not something a caller sends us.

The reader accepts DER only (definite, minimal lengths; no trailing bytes) and RSA keys of 2048 bits or more.
Anything else raises :class:`KeyFormatError` (a ``ValueError``), at configuration load, never per request.

Signing (Alipay and WeChat requests) and AES-256-GCM (WeChat's encrypted callback resource) are not worth
hand-writing: they use ``cryptography``, which the Powertools layer v3 ships (see ``docs/payments-protocols.md``).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from functions.shared.jwt import rsa_pkcs1_sha256_verify

MIN_RSA_BITS = 2048
_RSA_ENCRYPTION_OID = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1

_SEQUENCE, _INTEGER, _BIT_STRING, _NULL, _OID = 0x30, 0x02, 0x03, 0x05, 0x06
_UTC_TIME, _GENERALIZED_TIME = 0x17, 0x18
_EXPLICIT_0 = 0xA0  # [0] EXPLICIT, the certificate's version

_PEM_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


class KeyFormatError(ValueError):
    pass


# --- DER ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tlv:
    tag: int
    start: int  # first byte of the value
    end: int  # one past its last byte


def _read(data: bytes, pos: int, limit: int) -> _Tlv:
    if pos + 2 > limit:
        raise KeyFormatError("truncated DER")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise KeyFormatError("multi-byte DER tags are not used by keys or certificates")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0:
            raise KeyFormatError("indefinite lengths are BER, not DER")
        if count > 4 or pos + count > limit:
            raise KeyFormatError("DER length out of range")
        length = int.from_bytes(data[pos : pos + count], "big")
        if length < 0x80 or data[pos] == 0:
            raise KeyFormatError("DER lengths must be minimal")
        pos += count
    if pos + length > limit:
        raise KeyFormatError("truncated DER")
    return _Tlv(tag, pos, pos + length)


def _children(data: bytes, parent: _Tlv) -> list[_Tlv]:
    items = []
    pos = parent.start
    while pos < parent.end:
        item = _read(data, pos, parent.end)
        items.append(item)
        pos = item.end
    return items


def _expect(item: _Tlv, tag: int, what: str) -> _Tlv:
    if item.tag != tag:
        raise KeyFormatError(f"{what}: expected tag 0x{tag:02x}, found 0x{item.tag:02x}")
    return item


def _top(data: bytes) -> _Tlv:
    item = _expect(_read(data, 0, len(data)), _SEQUENCE, "top level")
    if item.end != len(data):
        raise KeyFormatError("trailing bytes after the DER structure")
    return item


def _integer(data: bytes, item: _Tlv) -> int:
    _expect(item, _INTEGER, "integer")
    raw = data[item.start : item.end]
    if not raw:
        raise KeyFormatError("empty INTEGER")
    if len(raw) > 1 and ((raw[0] == 0 and raw[1] < 0x80) or (raw[0] == 0xFF and raw[1] >= 0x80)):
        raise KeyFormatError("INTEGERs must be minimal")
    return int.from_bytes(raw, "big", signed=True)


def _time(data: bytes, item: _Tlv) -> datetime:
    text = data[item.start : item.end].decode("ascii", errors="replace")
    if item.tag == _UTC_TIME and re.fullmatch(r"\d{12}Z", text):
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"  # RFC 5280 §4.1.2.5.1
    elif not (item.tag == _GENERALIZED_TIME and re.fullmatch(r"\d{14}Z", text)):
        raise KeyFormatError("certificate times must be UTCTime or GeneralizedTime in UTC, to the second")
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise KeyFormatError("invalid certificate time") from None


# --- keys -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RsaPublicKey:
    n: int
    e: int

    def verify(self, message: bytes, signature: bytes) -> bool:
        """SHA256withRSA (RSASSA-PKCS1-v1_5 over SHA-256)."""
        return rsa_pkcs1_sha256_verify(self.n, self.e, message, signature)


@dataclass(frozen=True)
class Certificate:
    serial_number: int
    not_before: datetime
    not_after: datetime
    public_key: RsaPublicKey

    @property
    def serial_hex(self) -> str:
        return format(self.serial_number, "X")

    def valid_at(self, moment: datetime) -> bool:
        return self.not_before <= moment <= self.not_after


def _rsa_public_key(data: bytes, item: _Tlv) -> RsaPublicKey:
    """RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }"""
    parts = _children(data, _expect(item, _SEQUENCE, "RSAPublicKey"))
    if len(parts) != 2:
        raise KeyFormatError("RSAPublicKey has two integers")
    n, e = _integer(data, parts[0]), _integer(data, parts[1])
    if n <= 0 or n.bit_length() < MIN_RSA_BITS:
        raise KeyFormatError(f"RSA keys must have at least {MIN_RSA_BITS} bits")
    if e < 3 or e % 2 == 0 or e >= n:
        raise KeyFormatError("invalid RSA public exponent")
    return RsaPublicKey(n, e)


def _spki(data: bytes, item: _Tlv) -> RsaPublicKey:
    """SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }"""
    parts = _children(data, _expect(item, _SEQUENCE, "SubjectPublicKeyInfo"))
    if len(parts) != 2:
        raise KeyFormatError("SubjectPublicKeyInfo has an algorithm and a key")
    algorithm = _children(data, _expect(parts[0], _SEQUENCE, "AlgorithmIdentifier"))
    if not algorithm or data[algorithm[0].start : algorithm[0].end] != _RSA_ENCRYPTION_OID:
        raise KeyFormatError("not an RSA key (only rsaEncryption keys are accepted)")
    _expect(algorithm[0], _OID, "algorithm")
    parameters = algorithm[1:]
    if len(parameters) > 1 or (parameters and (parameters[0].tag != _NULL or parameters[0].end != parameters[0].start)):
        raise KeyFormatError("rsaEncryption takes NULL parameters")
    bits = _expect(parts[1], _BIT_STRING, "subjectPublicKey")
    if bits.end - bits.start < 2 or data[bits.start] != 0:
        raise KeyFormatError("the key's BIT STRING must have no unused bits")
    inner = _read(data, bits.start + 1, bits.end)
    if inner.end != bits.end:
        raise KeyFormatError("trailing bytes in the key's BIT STRING")
    return _rsa_public_key(data, inner)


def parse_spki_der(data: bytes) -> RsaPublicKey:
    return _spki(data, _top(data))


def parse_pkcs1_public_der(data: bytes) -> RsaPublicKey:
    return _rsa_public_key(data, _top(data))


def parse_certificate_der(data: bytes) -> Certificate:
    """Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } with
    TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer, validity, subject,
    subjectPublicKeyInfo, ... }"""
    certificate = _children(data, _top(data))
    if len(certificate) != 3:
        raise KeyFormatError("a certificate has three parts")
    tbs = _children(data, _expect(certificate[0], _SEQUENCE, "tbsCertificate"))
    if tbs and tbs[0].tag == _EXPLICIT_0:
        tbs = tbs[1:]
    if len(tbs) < 6:
        raise KeyFormatError("tbsCertificate is too short")
    serial = _integer(data, tbs[0])
    validity = _children(data, _expect(tbs[3], _SEQUENCE, "validity"))
    if len(validity) != 2:
        raise KeyFormatError("validity has two times")
    return Certificate(
        serial_number=serial,
        not_before=_time(data, validity[0]),
        not_after=_time(data, validity[1]),
        public_key=_spki(data, tbs[5]),
    )


# --- PEM ------------------------------------------------------------------------------------------------------------


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise KeyFormatError("invalid base64 in key material") from None


def pem_blocks(text: str) -> list[tuple[str, bytes]]:
    return [(label, _b64(body)) for label, body in _PEM_RE.findall(text)]


def load_rsa_public_key(text: str) -> RsaPublicKey:
    """An RSA public key from a PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE PEM block, or from bare base64 of a
    SubjectPublicKeyInfo (the form Alipay's console shows)."""
    blocks = pem_blocks(text)
    if not blocks:
        if "-----" in text:
            raise KeyFormatError("unreadable PEM")
        return parse_spki_der(_b64(text))
    if len(blocks) != 1:
        raise KeyFormatError("expected exactly one PEM block")
    label, der = blocks[0]
    if label == "PUBLIC KEY":
        return parse_spki_der(der)
    if label == "RSA PUBLIC KEY":
        return parse_pkcs1_public_der(der)
    if label == "CERTIFICATE":
        return parse_certificate_der(der).public_key
    raise KeyFormatError(f"a {label} is not a public key")


def load_certificate(text: str) -> Certificate:
    blocks = pem_blocks(text)
    if len(blocks) != 1 or blocks[0][0] != "CERTIFICATE":
        raise KeyFormatError("expected exactly one CERTIFICATE PEM block")
    return parse_certificate_der(blocks[0][1])


# --- operations that need cryptography (imported lazily) ------------------------------------------------------------


def sign_sha256_rsa(private_key: str, message: bytes) -> bytes:
    """SHA256withRSA with a merchant's private key: PKCS#8 (``BEGIN PRIVATE KEY``) or PKCS#1 (``BEGIN RSA PRIVATE
    KEY``) PEM, or bare base64 of either DER (Alipay's key tool writes that)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    text = private_key.strip()
    try:
        if text.startswith("-----"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = serialization.load_der_private_key(_b64(text), password=None)
    except (ValueError, TypeError):
        raise KeyFormatError("unreadable private key") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_RSA_BITS:
        raise KeyFormatError(f"the private key must be RSA of at least {MIN_RSA_BITS} bits")
    return key.sign(message, padding.PKCS1v15(), hashes.SHA256())


class DecryptionFailed(Exception):
    pass


def aes_256_gcm_decrypt(key: bytes, nonce: bytes, ciphertext_and_tag: bytes, associated_data: bytes) -> bytes:
    """AEAD_AES_256_GCM (RFC 5116): the 16-byte tag is the ciphertext's last 16 bytes."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(key) != 32:
        raise KeyFormatError("AEAD_AES_256_GCM takes a 32-byte key")
    if not nonce or len(ciphertext_and_tag) < 16:
        raise DecryptionFailed("the ciphertext is too short")
    try:
        return AESGCM(key).decrypt(nonce, ciphertext_and_tag, associated_data)
    except InvalidTag:
        raise DecryptionFailed("the ciphertext does not open with this key") from None
