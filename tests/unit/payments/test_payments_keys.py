"""functions.payments.providers.keys: the hand-written DER reader finds the same RSA numbers ``cryptography`` put in
the key or certificate, verifies the signatures ``cryptography`` makes, and refuses anything that is not strict DER
for an RSA key of at least 2048 bits."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from functions.payments.providers.keys import (
    DecryptionFailed,
    KeyFormatError,
    aes_256_gcm_decrypt,
    load_certificate,
    load_rsa_public_key,
    parse_spki_der,
    sign_sha256_rsa,
)
from tests.unit.payments.payments_support import KeyPair, certificate_pem


def numbers(key: KeyPair) -> tuple[int, int]:
    public = key.private.public_key().public_numbers()
    return public.n, public.e


def spki_der(key: KeyPair) -> bytes:
    return key.private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_a_subject_public_key_info_pem_yields_the_keys_modulus_and_exponent(alipay_key: KeyPair) -> None:
    key = load_rsa_public_key(alipay_key.public_pem)
    assert (key.n, key.e) == numbers(alipay_key)


def test_the_bare_base64_form_alipays_console_shows_is_read_too(alipay_key: KeyPair) -> None:
    key = load_rsa_public_key(alipay_key.public_base64)
    assert (key.n, key.e) == numbers(alipay_key)


def test_a_pkcs1_rsa_public_key_pem_is_read(alipay_key: KeyPair) -> None:
    pem = (
        alipay_key.private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
        .decode()
    )
    key = load_rsa_public_key(pem)
    assert (key.n, key.e) == numbers(alipay_key)


def test_a_certificate_yields_its_serial_validity_and_public_key(platform_key: KeyPair) -> None:
    start = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    end = datetime(2055, 6, 7, 8, 9, 10, tzinfo=UTC)  # after 2049: encoded as GeneralizedTime
    serial = 0x5157F09EFDC096DE15EBE81A47057A7232F1B8E1
    certificate = load_certificate(certificate_pem(platform_key, serial, not_before=start, not_after=end))
    assert certificate.serial_number == serial
    assert certificate.serial_hex == "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
    assert (certificate.not_before, certificate.not_after) == (start, end)
    assert (certificate.public_key.n, certificate.public_key.e) == numbers(platform_key)
    assert certificate.valid_at(start + timedelta(days=1))
    assert not certificate.valid_at(end + timedelta(seconds=1))
    assert load_rsa_public_key(certificate_pem(platform_key, serial)).n == numbers(platform_key)[0]


def test_a_signature_made_by_cryptography_verifies_and_a_changed_message_does_not(alipay_key: KeyPair) -> None:
    key = load_rsa_public_key(alipay_key.public_pem)
    signature = alipay_key.sign(b"total_amount=2.00&trade_status=TRADE_SUCCESS")
    assert key.verify(b"total_amount=2.00&trade_status=TRADE_SUCCESS", signature)
    assert not key.verify(b"total_amount=200&trade_status=TRADE_SUCCESS", signature)
    assert not key.verify(b"total_amount=2.00&trade_status=TRADE_SUCCESS", signature[:-1])


def test_signing_with_cryptography_produces_a_signature_the_reader_verifies(merchant_key: KeyPair) -> None:
    signature = sign_sha256_rsa(merchant_key.private_pem, b"GET\n/v3/certificates\n1\nn\n\n")
    assert merchant_key.verify(b"GET\n/v3/certificates\n1\nn\n\n", signature)
    pkcs1 = merchant_key.private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    bare = base64.b64encode(pkcs1).decode()  # Alipay's key tool writes the private key as bare base64
    assert merchant_key.verify(b"m", sign_sha256_rsa(bare, b"m"))


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda der: der[:-1], id="truncated"),
        pytest.param(lambda der: der + b"\x00", id="trailing-byte"),
        pytest.param(lambda der: b"\x30\x80" + der[4:] + b"\x00\x00", id="indefinite-length"),
        pytest.param(lambda der: b"\x30\x83\x00" + der[2:], id="non-minimal-length"),
        pytest.param(
            lambda der: der.replace(bytes.fromhex("2a864886f70d010101"), bytes.fromhex("2a864886f70d010102")),
            id="not-rsaEncryption",
        ),
        pytest.param(lambda der: b"", id="empty"),
    ],
)
def test_malformed_der_is_refused(alipay_key: KeyPair, mutate: object) -> None:
    der = spki_der(alipay_key)
    assert der[:2] == b"\x30\x82"  # a long-form length, which the mutations rely on
    with pytest.raises(KeyFormatError):
        parse_spki_der(mutate(der))  # type: ignore[operator]


def test_small_rsa_keys_and_other_key_types_are_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    pem = small.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with pytest.raises(KeyFormatError, match="2048"):
        load_rsa_public_key(pem)
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = ec_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with pytest.raises(KeyFormatError, match="not an RSA key"):
        load_rsa_public_key(pem)


@pytest.mark.parametrize(
    "text",
    [
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----",
        "-----BEGIN PUBLIC KEY-----\nMIIB",
        "not a key",
    ],
)
def test_text_that_is_not_a_public_key_is_refused(text: str) -> None:
    with pytest.raises(KeyFormatError):
        load_rsa_public_key(text)


def test_a_certificate_is_required_where_a_certificate_is_expected(alipay_key: KeyPair) -> None:
    with pytest.raises(KeyFormatError):
        load_certificate(alipay_key.public_pem)


def test_aes_256_gcm_opens_what_cryptography_sealed_and_nothing_else() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key, nonce = b"k" * 32, b"0123456789ab"
    sealed = AESGCM(key).encrypt(nonce, b'{"a":1}', b"transaction")
    assert aes_256_gcm_decrypt(key, nonce, sealed, b"transaction") == b'{"a":1}'
    with pytest.raises(DecryptionFailed):
        aes_256_gcm_decrypt(b"x" * 32, nonce, sealed, b"transaction")
    with pytest.raises(DecryptionFailed):
        aes_256_gcm_decrypt(key, nonce, sealed, b"certificate")
    with pytest.raises(KeyFormatError):
        aes_256_gcm_decrypt(b"short", nonce, sealed, b"")
