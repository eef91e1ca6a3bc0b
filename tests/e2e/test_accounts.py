"""A shopper's account journey over real HTTP: sign up, log in, see and change the profile, refresh the tokens;
and the failures a client must handle (wrong password, duplicate email)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.support import ADMIN, SHOPPER, Client, log_in

pytestmark = pytest.mark.e2e
PASSWORD = "Journey-Passw0rd!"


def test_sign_up_then_log_in_then_read_and_update_the_profile(url: str, unique: Callable[[str], str]) -> None:
    email = f"{unique('ann')}@example.com"
    signed_up = requests.post(f"{url}/auth/signup", json={"email": email, "password": PASSWORD}, timeout=30)
    assert signed_up.status_code == 201, signed_up.text
    assert signed_up.json()["email"] == email
    user_id = signed_up.json()["user_id"]

    tokens = log_in(url, email, PASSWORD)
    assert tokens["token_type"] == "Bearer"
    assert {"id_token", "access_token", "refresh_token", "expires_in"} <= set(tokens)

    me = Client(url, tokens["id_token"])
    profile = me("GET", "/me")
    assert profile.status_code == 200, profile.text
    assert profile.json()["user_id"] == user_id
    assert profile.json()["email"] == email
    assert profile.json()["roles"] == ["customer"]

    changed = me("PUT", "/me", json={"name": "Ann Lee", "phone": "+8613800138000"})
    assert changed.status_code == 200, changed.text
    assert me("GET", "/me").json()["name"] == "Ann Lee"

    refreshed = requests.post(f"{url}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, timeout=30)
    assert refreshed.status_code == 200, refreshed.text
    assert Client(url, refreshed.json()["id_token"])("GET", "/me").json()["user_id"] == user_id


def test_a_wrong_password_is_401(url: str) -> None:
    response = requests.post(f"{url}/auth/login", json={"email": SHOPPER[0], "password": "Wrong-Passw0rd!"}, timeout=30)
    assert response.status_code == 401
    assert response.json()["error"]["code"]


def test_signing_up_twice_with_one_email_is_409(url: str, unique: Callable[[str], str]) -> None:
    email = f"{unique('twice')}@example.com"
    first = requests.post(f"{url}/auth/signup", json={"email": email, "password": PASSWORD}, timeout=30)
    assert first.status_code == 201
    again = requests.post(f"{url}/auth/signup", json={"email": email, "password": "Other-Passw0rd!"}, timeout=30)
    assert again.status_code == 409


def test_the_seeded_accounts_have_their_roles(admin: Any, shopper: Any) -> None:
    assert {"admin", "customer"} <= set(admin("GET", "/me").json()["roles"])
    assert shopper("GET", "/me").json()["roles"] == ["customer"]
    assert admin("GET", "/me").json()["email"] == ADMIN[0]


ADDRESS = {
    "recipient": "Ann Lee",
    "phone": "+8613800138000",
    "region": "Shanghai",
    "city": "Shanghai",
    "district": "Pudong",
    "street": "100 Century Avenue",
    "postcode": "200120",
}


def test_a_shopper_keeps_an_address_book(url: str, unique: Callable[[str], str], shopper: Any) -> None:
    email = f"{unique('book')}@example.com"
    assert requests.post(f"{url}/auth/signup", json={"email": email, "password": PASSWORD}, timeout=30).ok
    me = Client(url, log_in(url, email, PASSWORD)["id_token"])
    assert me("GET", "/me/addresses").json() == {"items": [], "next_cursor": None}

    key = {"Idempotency-Key": unique("address-key-")}
    home = me("POST", "/me/addresses", json=ADDRESS, headers=key)
    assert home.status_code == 201, home.text
    assert home.json()["is_default"] is True
    replayed = me("POST", "/me/addresses", json=ADDRESS, headers=key)
    assert replayed.status_code == 200 and replayed.json() == home.json()

    work = me("POST", "/me/addresses", json={**ADDRESS, "street": "1 Office Park", "is_default": True})
    assert work.status_code == 201, work.text
    listed = me("GET", "/me/addresses").json()["items"]
    assert [(a["address_id"], a["is_default"]) for a in listed] == [
        (work.json()["address_id"], True),
        (home.json()["address_id"], False),
    ]

    path = f"/me/addresses/{home.json()['address_id']}"
    current = listed[1]
    changed = me("PUT", path, json={**ADDRESS, "street": "2 Century Avenue", "version": current["version"]})
    assert changed.status_code == 200, changed.text
    stale = me("PUT", path, json={**ADDRESS, "version": current["version"]})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "VERSION_CONFLICT"
    assert me("POST", "/me/addresses", json={**ADDRESS, "recipient": "<b>Ann</b>"}).status_code == 422
    assert shopper("DELETE", path).status_code == 404  # someone else's address

    assert me("DELETE", f"/me/addresses/{work.json()['address_id']}").status_code == 204
    left = me("GET", "/me/addresses").json()["items"]
    assert [(a["address_id"], a["is_default"], a["street"]) for a in left] == [
        (home.json()["address_id"], True, "2 Century Avenue")
    ]
