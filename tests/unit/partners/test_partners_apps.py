"""Partner apps: the input rules, an app's secrets over its life, and the service (registering, revoking, rotating,
and deciding whether a signed request is genuine) driven with in-memory fakes (tests/unit/partners/fakes.py)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from functions.partners import service as service_module
from functions.partners.model import App, AppRevoked, PartnerInput, RotateInput
from functions.partners.service import Partners
from functions.partners.signing import EMPTY_SHA256, SignatureRejected, SignedRequest, parse
from functions.shared.errors import Conflict, NotFound
from tests.unit.partners.fakes import FakeApps, FakePlans, FakeSecrets

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ADMIN = "user:44444444-4444-4444-8444-444444444444"


@dataclass
class Clock:
    now: datetime = T0

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    moving = Clock()
    monkeypatch.setattr(service_module, "now", lambda: moving.now)
    yield moving


@pytest.fixture
def fakes() -> tuple[FakeApps, FakeSecrets, FakePlans]:
    return FakeApps(), FakeSecrets(), FakePlans()


@pytest.fixture
def partners(fakes: tuple[FakeApps, FakeSecrets, FakePlans], clock: Clock) -> Partners:
    apps, vault, plans = fakes
    return Partners(apps, vault, plans, grace=timedelta(hours=24))  # type: ignore[arg-type]


def new_input(**overrides: Any) -> PartnerInput:
    return PartnerInput.model_validate({"name": "Acme WMS", "scopes": ["products:read"], **overrides})


def signed(secret: str, app_key: str, at: datetime, nonce: str | None = None) -> SignedRequest:
    """A GET /partner/v1/products?limit=5 as a partner signs it (HMAC computed here, per DESIGN.md §5)."""
    timestamp, nonce = str(int(at.timestamp())), nonce or secrets.token_hex(12)
    text = "\n".join(("GET", "/partner/v1/products", "limit=5", timestamp, nonce, EMPTY_SHA256))
    mac = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    headers = {"X-App-Key": app_key, "X-Timestamp": timestamp, "X-Nonce": nonce, "X-Signature": mac}
    return parse("GET", "/partner/v1/products", headers, [("limit", "5")])


def stored_app(**overrides: Any) -> App:
    base: dict[str, Any] = {
        "app_key": "app_01M8SXN5K8V9NXKHF8QBX988RT",
        "name": "Acme",
        "scopes": ("products:read",),
        "rate_limit": 10,
        "burst_limit": 20,
        "daily_quota": 1000,
        "created_at": T0,
        "created_by": ADMIN,
        "secret": "cipher-1",
    }
    return App(**{**base, **overrides})


# --- the input rules ------------------------------------------------------------------------------------------------


def test_scopes_must_be_known_given_once_and_come_back_sorted() -> None:
    assert new_input(scopes=["products:read", "inventory:write", "orders:read"]).scopes == [
        "inventory:write",
        "orders:read",
        "products:read",
    ]
    for scopes in (["orders:read", "orders:read"], ["orders:write"], [], "orders:read"):
        with pytest.raises(ValidationError):
            new_input(scopes=scopes)


def test_burst_defaults_to_twice_the_rate_and_may_not_be_below_it() -> None:
    assert new_input(rate_limit=7).burst == 14
    assert new_input(rate_limit=7, burst_limit=7).burst == 7
    with pytest.raises(ValidationError):
        new_input(rate_limit=7, burst_limit=6)
    for bad in ({"rate_limit": 0}, {"rate_limit": 1001}, {"daily_quota": 0}, {"burst_limit": 0}):
        with pytest.raises(ValidationError):
            new_input(**bad)


def test_a_name_with_markup_or_control_characters_is_refused_and_spaces_are_trimmed() -> None:
    assert new_input(name="  顺丰 WMS  ").name == "顺丰 WMS"
    for name in ("<script>x</script>", "Acme\x00", "Acme\nWMS", "Ac\u200bme", "", "   ", "x" * 81):
        with pytest.raises(ValidationError):
            new_input(name=name)


def test_types_are_strict_and_unknown_fields_refused() -> None:
    for bad in ({"rate_limit": "10"}, {"rate_limit": 10.0}, {"rate_limit": True}, {"name": 42}, {"owner": "me"}):
        with pytest.raises(ValidationError):
            new_input(**bad)
    with pytest.raises(ValidationError):
        RotateInput.model_validate({"grace_seconds": "60"})
    with pytest.raises(ValidationError):
        RotateInput.model_validate({"grace_seconds": 7 * 24 * 3600 + 1})


# --- an app's secrets -------------------------------------------------------------------------------------------------


def test_the_previous_secret_is_valid_only_during_its_grace_and_none_after_revocation() -> None:
    rotated = stored_app().rotated("cipher-2", T0, timedelta(hours=1))
    assert rotated.secrets_valid_at(T0 + timedelta(minutes=59)) == ("cipher-2", "cipher-1")
    assert rotated.secrets_valid_at(T0 + timedelta(hours=1)) == ("cipher-2",)
    assert rotated.view(T0).previous_secret_expires_at == T0 + timedelta(hours=1)
    assert rotated.view(T0 + timedelta(hours=2)).previous_secret_expires_at is None
    assert rotated.revoked(T0).secrets_valid_at(T0) == ()
    cut_off = stored_app().rotated("cipher-2", T0, timedelta(0))
    assert (cut_off.secrets_valid_at(T0), cut_off.previous_expires_at) == (("cipher-2",), None)


def test_rotating_again_inside_the_grace_period_drops_the_older_secret() -> None:
    twice = stored_app().rotated("cipher-2", T0, timedelta(hours=1)).rotated("cipher-3", T0, timedelta(hours=1))
    assert twice.secrets_valid_at(T0 + timedelta(minutes=1)) == ("cipher-3", "cipher-2")
    assert twice.version == 3


def test_a_revoked_app_cannot_be_rotated_and_revoking_again_changes_nothing() -> None:
    revoked = stored_app().revoked(T0)
    with pytest.raises(AppRevoked):
        revoked.rotated("cipher-2", T0, timedelta(hours=1))
    assert revoked.revoked(T0 + timedelta(days=1)) is revoked


# --- the service ------------------------------------------------------------------------------------------------------


def test_registering_an_app_shows_its_secret_once_stores_it_encrypted_and_makes_its_usage_plan(
    partners: Partners, fakes: tuple[FakeApps, FakeSecrets, FakePlans]
) -> None:
    apps, vault, plans = fakes
    created, replayed = partners.create(ADMIN, new_input(rate_limit=5, daily_quota=500), None)
    assert not replayed and created.secret.startswith("sk_") and created.burst_limit == 10
    app = apps.apps[created.app_key]
    assert created.secret not in repr(app)
    assert vault.decrypt(app.app_key, app.secret) == created.secret
    plan = plans.plans[app.api_key_id]
    assert plan == {
        "app_key": app.app_key,
        "usage_key": app.usage_key,
        "rate": 5,
        "burst": 10,
        "quota": 500,
        "enabled": True,
    }
    listed = partners.list(20, None).items
    assert [v.app_key for v in listed] == [created.app_key]
    assert "secret" not in listed[0].model_dump()


def test_a_retry_with_the_same_idempotency_key_gets_the_same_app_and_another_body_a_conflict(
    partners: Partners, fakes: tuple[FakeApps, FakeSecrets, FakePlans]
) -> None:
    first, _ = partners.create(ADMIN, new_input(), "create-acme-1")
    again, replayed = partners.create(ADMIN, new_input(), "create-acme-1")
    assert replayed and (again.app_key, again.secret) == (first.app_key, first.secret)
    with pytest.raises(Conflict):
        partners.create(ADMIN, new_input(name="Other"), "create-acme-1")
    assert len(fakes[0].apps) == len(fakes[2].plans) == 1


def test_revoking_disables_the_api_key_and_a_revoked_app_cannot_be_rotated(
    partners: Partners, fakes: tuple[FakeApps, FakeSecrets, FakePlans]
) -> None:
    created, _ = partners.create(ADMIN, new_input(), None)
    assert partners.revoke(created.app_key).status == "revoked"
    assert [p["enabled"] for p in fakes[2].plans.values()] == [False]
    assert partners.revoke(created.app_key).status == "revoked"
    with pytest.raises(Conflict) as refused:
        partners.rotate(created.app_key, None)
    assert refused.value.status == 409
    with pytest.raises(NotFound):
        partners.revoke("app_01M8SXN5K8V9NXKHF8QBX988RV")


def test_authenticate_accepts_the_current_secret(partners: Partners, clock: Clock) -> None:
    created, _ = partners.create(ADMIN, new_input(), None)
    assert partners.authenticate(signed(created.secret, created.app_key, clock.now)).app_key == created.app_key


def test_authenticate_accepts_the_previous_secret_during_the_grace_period_only(
    partners: Partners, clock: Clock
) -> None:
    created, _ = partners.create(ADMIN, new_input(), None)
    rotated = partners.rotate(created.app_key, 600)
    assert rotated.secret != created.secret
    assert rotated.previous_secret_expires_at == clock.now + timedelta(seconds=600)
    clock.advance(seconds=599)
    for secret in (created.secret, rotated.secret):
        assert partners.authenticate(signed(secret, created.app_key, clock.now)).app_key == created.app_key
    clock.advance(seconds=1)
    with pytest.raises(SignatureRejected):
        partners.authenticate(signed(created.secret, created.app_key, clock.now))
    partners.authenticate(signed(rotated.secret, created.app_key, clock.now))


def test_authenticate_rejects_an_unknown_key_and_a_revoked_app(partners: Partners, clock: Clock) -> None:
    created, _ = partners.create(ADMIN, new_input(), None)
    with pytest.raises(SignatureRejected):
        partners.authenticate(signed(created.secret, "app_01M8SXN5K8V9NXKHF8QBX988RV", clock.now))
    partners.revoke(created.app_key)
    with pytest.raises(SignatureRejected):
        partners.authenticate(signed(created.secret, created.app_key, clock.now))


def test_authenticate_rejects_a_bad_signature_without_using_up_the_nonce(
    partners: Partners, clock: Clock, fakes: tuple[FakeApps, FakeSecrets, FakePlans]
) -> None:
    created, _ = partners.create(ADMIN, new_input(), None)
    with pytest.raises(SignatureRejected):
        partners.authenticate(signed("sk_guessed", created.app_key, clock.now, nonce="nonce-000000000001"))
    assert fakes[0].nonces == {}
    partners.authenticate(signed(created.secret, created.app_key, clock.now, nonce="nonce-000000000001"))


def test_authenticate_rejects_a_replayed_nonce(partners: Partners, clock: Clock) -> None:
    created, _ = partners.create(ADMIN, new_input(), None)
    request = signed(created.secret, created.app_key, clock.now)
    partners.authenticate(request)
    clock.advance(seconds=299)
    with pytest.raises(SignatureRejected):
        partners.authenticate(request)


def test_authenticate_rejects_a_timestamp_more_than_300_seconds_off(partners: Partners, clock: Clock) -> None:
    created, _ = partners.create(ADMIN, new_input(), None)
    for skew in (-301, 301):
        with pytest.raises(SignatureRejected):
            partners.authenticate(signed(created.secret, created.app_key, clock.now + timedelta(seconds=skew)))
    for skew in (-300, 300):
        partners.authenticate(signed(created.secret, created.app_key, clock.now + timedelta(seconds=skew)))
