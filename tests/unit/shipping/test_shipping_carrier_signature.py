"""Carrier callbacks are signed: ``X-Carrier-Signature`` = hex HMAC-SHA256 of ``<timestamp>.<raw body>`` keyed with
the carrier's secret, the timestamp at most 300 s off (functions.shipping.service.verify_carrier_signature)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from functions.shared.errors import NotFound, Unauthorized
from functions.shipping import service as shipping
from functions.shipping.service import carrier_signature, verify_carrier_signature

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
TS = str(int(NOW.timestamp()))
SECRET = "s3cret"
BODY = b'{"tracking_number":"SF100200300","events":[]}'


@pytest.fixture(autouse=True)
def carriers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shipping, "carrier_secrets", lambda: {"sf-express": SECRET, "yto": "other"})


def verify(signature: str | None, timestamp: str | None = TS, body: bytes = BODY, carrier: str = "sf-express"):
    verify_carrier_signature(carrier, body, timestamp, signature, NOW)


def test_the_signature_is_hmac_sha256_of_the_timestamp_a_dot_and_the_raw_body():
    expected = hmac.new(SECRET.encode(), f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert carrier_signature(SECRET, TS, BODY) == expected


def test_a_correctly_signed_callback_passes():
    verify(carrier_signature(SECRET, TS, BODY))


def test_the_signature_may_be_sent_in_upper_case_hex():
    verify(carrier_signature(SECRET, TS, BODY).upper())


@pytest.mark.parametrize("seconds", [-300, -1, 1, 300])
def test_a_timestamp_within_300_seconds_passes(seconds):
    ts = str(int(NOW.timestamp()) + seconds)
    verify(carrier_signature(SECRET, ts, BODY), timestamp=ts)


@pytest.mark.parametrize("seconds", [-301, 301, -86400, 86400])
def test_a_timestamp_more_than_300_seconds_off_is_refused_even_when_correctly_signed(seconds):
    ts = str(int((NOW + timedelta(seconds=seconds)).timestamp()))
    with pytest.raises(Unauthorized) as caught:
        verify(carrier_signature(SECRET, ts, BODY), timestamp=ts)
    assert caught.value.code == "SIGNATURE_EXPIRED"


@pytest.mark.parametrize("timestamp", ["abc", "-5", "1.5", f"{TS}.0", " ", "\u00b2", "\u0661\u0662"])
def test_a_timestamp_that_is_not_unix_seconds_is_refused(timestamp):
    with pytest.raises(Unauthorized):
        verify(carrier_signature(SECRET, timestamp, BODY), timestamp=timestamp)


@pytest.mark.parametrize(
    "signature",
    [
        carrier_signature("wrong-secret", TS, BODY),
        carrier_signature(SECRET, TS, BODY + b" "),
        carrier_signature(SECRET, str(int(TS) + 1), BODY),
        carrier_signature("other", TS, BODY),  # another carrier's secret
        "0" * 64,
        "not hex",
    ],
)
def test_a_bad_signature_is_refused(signature):
    with pytest.raises(Unauthorized) as caught:
        verify(signature)
    assert caught.value.code == "SIGNATURE_INVALID"


@pytest.mark.parametrize(
    "signature",
    ["\u00e9" * 64, "caf\u00e9", carrier_signature(SECRET, TS, BODY)[:-1] + "\u0661"],
    ids=["accented-64", "accented-short", "arabic-indic-digit"],
)
def test_a_signature_with_characters_that_are_not_ascii_is_refused_as_invalid(signature):
    with pytest.raises(Unauthorized) as caught:
        verify(signature)
    assert caught.value.code == "SIGNATURE_INVALID"


def test_a_signature_over_another_body_is_refused():
    with pytest.raises(Unauthorized):
        verify(carrier_signature(SECRET, TS, BODY), body=BODY.replace(b"SF1", b"SF9"))


@pytest.mark.parametrize(("timestamp", "signature"), [(None, "abc"), (TS, None), (None, None), ("", ""), (TS, "")])
def test_a_callback_without_the_signature_headers_is_refused(timestamp, signature):
    with pytest.raises(Unauthorized) as caught:
        verify(signature, timestamp=timestamp)
    assert caught.value.code == "SIGNATURE_MISSING"


def test_a_callback_for_a_carrier_we_have_no_secret_for_is_not_found():
    with pytest.raises(NotFound) as caught:
        verify(carrier_signature(SECRET, TS, BODY), carrier="dhl")
    assert caught.value.code == "CARRIER_NOT_FOUND"
