"""Accounts scenarios. Seed: one shopper signed up and logged in through the handlers; their ID token's claims
stand in for what the Cognito authorizer passes to ``/me``, and their refresh token feeds ``/auth/refresh``."""

from __future__ import annotations

import base64
import json
from typing import Any

from bench.harness import Bench
from bench.scenarios import scenario, seeder

PASSWORD = "Sunny-Day-42"  # meets the pool's policy (local/resources.py)


def _seed(bench: Bench) -> dict[str, Any]:
    seed: dict[str, Any] = bench.seed["accounts"]
    return seed


def token_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified: moto issued it a moment ago, and API Gateway would have verified it."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def _email(bench: Bench) -> str:
    return f"{bench.unique('bench-')}@example.com"


@seeder
def seed_accounts(bench: Bench) -> None:
    email = _email(bench)
    bench.api("POST", "/auth/signup", {"email": email, "password": PASSWORD, "name": "Bench Shopper"})
    tokens = bench.api("POST", "/auth/login", {"email": email, "password": PASSWORD})
    bench.seed["accounts"] = {
        "email": email,
        "refresh_token": tokens["refresh_token"],
        "claims": token_claims(tokens["id_token"]),
    }


@scenario("SignUp", "sign up a new shopper", primary=True)
def sign_up(bench: Bench) -> dict[str, Any]:
    return bench.event("POST", "/auth/signup", {"email": _email(bench), "password": PASSWORD})


@scenario("LogIn", "log in (USER_PASSWORD_AUTH)", primary=True)
def log_in(bench: Bench) -> dict[str, Any]:
    return bench.event("POST", "/auth/login", {"email": _seed(bench)["email"], "password": PASSWORD})


@scenario("RefreshTokens", "refresh tokens", primary=True)
def refresh(bench: Bench) -> dict[str, Any]:
    return bench.event("POST", "/auth/refresh", {"refresh_token": _seed(bench)["refresh_token"]})


@scenario("GetMe", "read own profile", primary=True)
def get_me(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/me", claims=_seed(bench)["claims"])


@scenario("UpdateMe", "change own name", primary=True)
def update_me(bench: Bench) -> dict[str, Any]:
    return bench.event("PUT", "/me", {"name": bench.unique("Bench Shopper ")}, claims=_seed(bench)["claims"])


# --- saved addresses --------------------------------------------------------------------------------------------

ADDRESS = {
    "recipient": "Bench Shopper",
    "phone": "+8613812345678",
    "region": "Shanghai",
    "city": "Shanghai",
    "district": "Pudong",
    "street": "100 Century Avenue",
    "postcode": "200120",
}


def _fresh_book(bench: Bench, addresses: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The seeded shopper's claims under a new user id (a book of its own, so runs never reach the limit of 20),
    with ``addresses`` saved through the handler; the first is the default."""
    claims = {**_seed(bench)["claims"], "sub": bench.unique("bench-user-")}
    made = [
        bench.api("POST", "/me/addresses", {**ADDRESS, "street": f"{n} Century Avenue"}, claims=claims)
        for n in range(addresses)
    ]
    return claims, made


@scenario("ListAddresses", "list own 5 saved addresses", primary=True)
def list_addresses(bench: Bench) -> dict[str, Any]:
    claims, _ = _fresh_book(bench, 5)
    return bench.event("GET", "/me/addresses", claims=claims)


@scenario("CreateAddress", "save a second address as the default (with an Idempotency-Key)", primary=True)
def create_address(bench: Bench) -> dict[str, Any]:
    claims, _ = _fresh_book(bench, 1)
    event = bench.event("POST", "/me/addresses", {**ADDRESS, "is_default": True}, claims=claims)
    event["headers"]["Idempotency-Key"] = bench.unique("bench-key-")
    if event.get("multiValueHeaders") is not None:
        event["multiValueHeaders"]["Idempotency-Key"] = [event["headers"]["Idempotency-Key"]]
    return event


@scenario("UpdateAddress", "replace an address and make it the default", primary=True)
def update_address(bench: Bench) -> dict[str, Any]:
    claims, made = _fresh_book(bench, 2)
    body = {**ADDRESS, "is_default": True, "version": made[1]["version"]}
    return bench.event("PUT", f"/me/addresses/{made[1]['address_id']}", body, claims=claims)


@scenario("DeleteAddress", "delete the default address (the default passes on)", primary=True)
def delete_address(bench: Bench) -> dict[str, Any]:
    claims, made = _fresh_book(bench, 2)
    return bench.event("DELETE", f"/me/addresses/{made[0]['address_id']}", claims=claims)


# --- staff and roles (admin only) -------------------------------------------------------------------------------


def _admin_claims(bench: Bench) -> dict[str, Any]:
    claims: dict[str, Any] = _seed(bench)["admin_claims"]
    return claims


def _fresh_user(bench: Bench) -> str:
    """A new shopper's user id (signed up through the handler; never timed), so each measured call changes a user
    that nothing changed before."""
    made = bench.api("POST", "/auth/signup", {"email": _email(bench), "password": PASSWORD})
    return str(made["user_id"])


@seeder
def seed_admin(bench: Bench) -> None:
    """An administrator signed up, put in ``admin`` in the pool and logged in, so their ID token carries the group
    as it would in AWS. Runs after ``seed_accounts`` (registration order), whose shopper the searches find."""
    from functions.shared.aws import client
    from functions.shared.settings import env

    email = _email(bench)
    bench.api("POST", "/auth/signup", {"email": email, "password": PASSWORD, "name": "Bench Admin"})
    client("cognito-idp").admin_add_user_to_group(UserPoolId=env("USER_POOL_ID"), Username=email, GroupName="admin")
    tokens = bench.api("POST", "/auth/login", {"email": email, "password": PASSWORD})
    bench.seed["accounts"]["admin_claims"] = token_claims(tokens["id_token"])


@scenario("ListUsers", "search this run's users by email prefix (one page of 20, with their groups)", primary=True)
def list_users(bench: Bench) -> dict[str, Any]:
    prefix = f"bench-{bench.tag}"  # every email this run made (_email)
    return bench.event("GET", "/admin/users", claims=_admin_claims(bench), query={"email": prefix, "limit": 20})


@scenario("SetUserRoles", "grant a new user two staff roles", primary=True)
def set_user_roles(bench: Bench) -> dict[str, Any]:
    user_id = _fresh_user(bench)
    body = {"roles": ["catalog", "fulfilment"]}
    return bench.event("PUT", f"/admin/users/{user_id}/roles", body, claims=_admin_claims(bench))


@scenario("DisableUser", "disable a user and sign them out everywhere", primary=True)
def disable_user(bench: Bench) -> dict[str, Any]:
    return bench.event("POST", f"/admin/users/{_fresh_user(bench)}/disable", claims=_admin_claims(bench))
