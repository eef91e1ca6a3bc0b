"""The partners service: register, list, revoke and rotate apps, and decide whether a signed request is genuine.

The composition root is :func:`service` (real DynamoDB, KMS and API Gateway clients, built once per container);
tests build :class:`Partners` with their own adapters. ``now()`` is module level so tests can move the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache, cached_property
from typing import Protocol

from functions.partners.model import (
    App,
    AppRevoked,
    PartnerCreated,
    PartnerInput,
    PartnerPage,
    PartnerView,
    new_app_key,
    new_secret,
    new_usage_key,
)
from functions.partners.repository import Apps, KmsSecrets, UsagePlans, VersionConflict
from functions.partners.signing import NONCE_TTL_S, SignatureRejected, SignedRequest
from functions.shared import aws, cursor
from functions.shared.errors import Conflict, NotFound
from functions.shared.idempotency import request_hash
from functions.shared.logs import shop_logger
from functions.shared.settings import env, env_int, resource_name, table_name

logger = shop_logger()

DEFAULT_GRACE_HOURS = 24
CURSOR_KIND = "partners"


def now() -> datetime:
    return datetime.now(UTC)


class Secrets(Protocol):
    def encrypt(self, app_key: str, secret: str) -> str: ...
    def decrypt(self, app_key: str, ciphertext: str) -> str: ...


class Plans(Protocol):
    def create(self, app: App, usage_key: str) -> tuple[str, str]: ...
    def disable(self, api_key_id: str) -> None: ...


class Partners:
    def __init__(self, apps: Apps, secrets: Secrets, plans: Plans, grace: timedelta) -> None:
        self.apps = apps
        self.secrets = secrets
        self.plans = plans
        self.grace = grace

    # --- back office ------------------------------------------------------------------------------------------

    def create(self, actor: str, data: PartnerInput, idempotency_key: str | None) -> tuple[PartnerCreated, bool]:
        """A new app and its secret (shown in this answer only). With an Idempotency-Key, a retry of the same
        request inside ten minutes gets the same app and secret again (the answer it lost), and another request
        with the key is a 409; returns (answer, replayed)."""
        moment = now()
        app_key = new_app_key()
        if idempotency_key is not None:
            digest = request_hash(data.model_dump(mode="json"))
            seen = self.apps.idempotent(actor, idempotency_key, digest, app_key, int(moment.timestamp()))
            if seen is not None:
                first_digest, first_app = seen
                if first_digest != digest:
                    raise Conflict("this Idempotency-Key was used with another request", code="IDEMPOTENCY_KEY_REUSED")
                existing = self.apps.get(first_app)
                if existing is None:
                    raise Conflict("the first request with this Idempotency-Key is still in progress")
                return self._created(existing, self.secrets.decrypt(existing.app_key, existing.secret), moment), True
        secret = new_secret()
        usage_key = new_usage_key()
        app = App(
            app_key=app_key,
            name=data.name,
            scopes=tuple(data.scopes),
            rate_limit=data.rate_limit,
            burst_limit=data.burst,
            daily_quota=data.daily_quota,
            created_at=moment,
            created_by=actor,
            secret=self.secrets.encrypt(app_key, secret),
            usage_key=usage_key,
        )
        # The usage plan first: an app item without its plan would be an app API Gateway cannot meter. A plan
        # left without an item (the Put failed) throttles nobody and is named after the key it was made for.
        api_key_id, plan_id = self.plans.create(app, usage_key)
        app = App(**{**app.__dict__, "api_key_id": api_key_id, "usage_plan_id": plan_id})
        self.apps.add(app)
        logger.info("partner app created", extra={"app_key": app_key, "scopes": list(app.scopes)})
        return self._created(app, secret, moment), False

    def list(self, limit: int, cursor_token: str | None) -> PartnerPage:
        start = cursor.decode(cursor_token, CURSOR_KIND) if cursor_token else None
        apps, last = self.apps.page(limit, start)
        moment = now()
        return PartnerPage(
            items=[a.view(moment) for a in apps], next_cursor=cursor.encode(last, CURSOR_KIND) if last else None
        )

    def revoke(self, app_key: str) -> PartnerView:
        """Final. The authorizer refuses the app from the next request; its API key is disabled as well."""
        app = self._get(app_key)
        moment = now()
        if app.active:
            revoked = app.revoked(moment)
            self._replace(revoked, app.version)
            if app.api_key_id:
                self.plans.disable(app.api_key_id)
            logger.info("partner app revoked", extra={"app_key": app_key})
            app = revoked
        return app.view(moment)

    def rotate(self, app_key: str, grace_seconds: int | None) -> PartnerCreated:
        app = self._get(app_key)
        moment = now()
        grace = self.grace if grace_seconds is None else timedelta(seconds=grace_seconds)
        secret = new_secret()
        try:
            rotated = app.rotated(self.secrets.encrypt(app_key, secret), moment, grace)
        except AppRevoked:
            raise Conflict("a revoked app cannot be given a new secret", code="APP_REVOKED") from None
        self._replace(rotated, app.version)
        logger.info("partner secret rotated", extra={"app_key": app_key, "grace_s": int(grace.total_seconds())})
        return self._created(rotated, secret, moment)

    def _get(self, app_key: str) -> App:
        app = self.apps.get(app_key)
        if app is None:
            raise NotFound("no such partner app")
        return app

    def _replace(self, app: App, read_version: int) -> None:
        try:
            self.apps.replace(app, read_version)
        except VersionConflict:
            raise Conflict("the app changed meanwhile; read it again", code="VERSION_CONFLICT") from None

    @staticmethod
    def _created(app: App, secret: str, moment: datetime) -> PartnerCreated:
        return PartnerCreated(**app.view(moment).model_dump(), secret=secret)

    # --- the authorizer ----------------------------------------------------------------------------------------

    def authenticate(self, request: SignedRequest) -> App:
        """The app that signed ``request``, or :class:`SignatureRejected`. The checks run cheapest first, and the
        nonce is remembered only once the signature is good, so nobody can burn another app's nonces."""
        moment = now()
        clock = moment.timestamp()
        request.check_clock(clock)
        app = self.apps.get(request.app_key)
        if app is None:
            raise SignatureRejected("unknown app key")
        valid = app.secrets_valid_at(moment)
        if not valid:
            raise SignatureRejected("app revoked")
        if not any(request.matches(self.secrets.decrypt(app.app_key, c)) for c in valid):
            raise SignatureRejected("bad signature")
        if not self.apps.remember_nonce(app.app_key, request.nonce, int(clock), NONCE_TTL_S):
            raise SignatureRejected("nonce seen before")
        return app


class _LazySecrets:
    """The KMS adapter, built on first use: each function's environment names only what it is granted
    (ListPartners and RevokePartner have no key, so they must not need its id just to start)."""

    @cached_property
    def _kms(self) -> KmsSecrets:
        return KmsSecrets(aws.client("kms"), resource_name("key:partners"))

    def encrypt(self, app_key: str, secret: str) -> str:
        return self._kms.encrypt(app_key, secret)

    def decrypt(self, app_key: str, ciphertext: str) -> str:
        return self._kms.decrypt(app_key, ciphertext)


class _LazyPlans:
    """The API Gateway adapter, built on first use: only CreatePartner and RevokePartner are granted the API (and
    given REST_API_ID / API_STAGE_NAME); the authorizer, the list and rotation never touch it."""

    @cached_property
    def _apigw(self) -> UsagePlans:
        return UsagePlans(aws.client("apigateway"), env("REST_API_ID"), env("API_STAGE_NAME"))

    def create(self, app: App, usage_key: str) -> tuple[str, str]:
        return self._apigw.create(app, usage_key)

    def disable(self, api_key_id: str) -> None:
        self._apigw.disable(api_key_id)


@cache
def service() -> Partners:
    return Partners(
        apps=Apps(aws.client("dynamodb"), table_name("partners")),
        secrets=_LazySecrets(),
        plans=_LazyPlans(),
        grace=timedelta(hours=env_int("PARTNER_SECRET_GRACE_HOURS", DEFAULT_GRACE_HOURS)),
    )
