import base64
import json

import pytest

from functions.shared import cursor
from functions.shared.errors import BadRequest


@pytest.fixture(autouse=True)
def signing_key(cursor_key):
    return cursor_key


KEY = {"pk": {"S": "LIST#ALL"}, "sk": {"S": "prd_1"}, "new_sk": {"S": "2026#prd_1"}}


def test_a_cursor_round_trips_for_the_same_query():
    fp = cursor.fingerprint(category="c1", sort="newest")
    assert cursor.decode(cursor.encode(KEY, fp), fp) == KEY


def test_no_last_key_means_no_cursor():
    assert cursor.encode(None, "fp") is None
    assert cursor.decode(None, "fp") is None


def test_a_cursor_from_another_query_is_refused():
    token = cursor.encode(KEY, cursor.fingerprint(category="c1"))
    with pytest.raises(BadRequest):
        cursor.decode(token, cursor.fingerprint(category="c2"))


def test_an_edited_cursor_is_refused():
    fp = "fp"
    token = cursor.encode(KEY, fp)
    body, sig = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["k"]["pk"]["S"] = "PRODUCT#secret"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode() + "." + sig
    with pytest.raises(BadRequest):
        cursor.decode(forged, fp)


@pytest.mark.parametrize("token", ["garbage", "a.b", "a.b.c", "x" * 5000, "!!!.???"])
def test_garbage_cursors_are_a_400_not_a_crash(token):
    with pytest.raises(BadRequest):
        cursor.decode(token, "fp")


def test_a_cursor_signed_with_another_key_is_refused(monkeypatch):
    token = cursor.encode(KEY, "fp")
    monkeypatch.setenv("CURSOR_SIGNING_KEY", "other-key")
    cursor._key.cache_clear()
    with pytest.raises(BadRequest):
        cursor.decode(token, "fp")
