"""DynamoDB storage of partner apps (the ``partners`` table), and the two AWS adapters the service needs: KMS for
the secrets and API Gateway for each app's API key and usage plan. Key design:

=======================  ===============================  =======================================================
item                     pk                               sk / notes
=======================  ===============================  =======================================================
app                      ``APP#<app_key>``                ``APP``; the fields, secrets as KMS ciphertexts,
                                                          ``version``; ``kind`` = ``APP`` and ``created_sk`` feed
                                                          the ``by_created`` index (the back-office list)
nonce                    ``NONCE#<app_key>#<nonce>``      ``NONCE``; written once by the authorizer, conditioned
                                                          on not existing (or having expired); TTL ``expires_at``
idempotency record       ``IDEMP#<actor>#<key>``          ``IDEMP``; request hash and the app key; TTL 10 min
=======================  ===============================  =======================================================

Reading an app is one consistent GetItem (the authorizer's per-request read, so a revocation counts at once);
every change is a Put conditioned on the version read. The app list is one Query of a single ``kind`` partition:
apps are created by hand in the back office, a few thousand at the very most, and read only there.
"""

from __future__ import annotations

import base64
from datetime import datetime
from functools import lru_cache
from typing import Any

from botocore.exceptions import ClientError

from functions.partners.model import App
from functions.shared.dynamo import from_item, is_condition_failure, sortable, to_item, value

APP_SK = "APP"
KIND = "APP"
INDEX = "by_created"
IDEMPOTENCY_TTL_S = 600


def app_key_item(app_key: str) -> dict[str, Any]:
    return {"pk": {"S": f"APP#{app_key}"}, "sk": {"S": APP_SK}}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else sortable(moment)


def _time(raw: Any) -> datetime | None:
    return None if raw in (None, "") else datetime.fromisoformat(str(raw).replace("Z", "+00:00"))


def to_record(app: App) -> dict[str, Any]:
    created = sortable(app.created_at)
    return {
        "pk": f"APP#{app.app_key}",
        "sk": APP_SK,
        "kind": KIND,
        "created_sk": f"{created}#{app.app_key}",
        "app_key": app.app_key,
        "name": app.name,
        "scopes": list(app.scopes),
        "rate_limit": app.rate_limit,
        "burst_limit": app.burst_limit,
        "daily_quota": app.daily_quota,
        "created_at": created,
        "created_by": app.created_by,
        "secret": app.secret,
        "previous_secret": app.previous_secret,
        "previous_expires_at": _iso(app.previous_expires_at),
        "api_key_id": app.api_key_id,
        "usage_plan_id": app.usage_plan_id,
        "usage_key": app.usage_key,
        "status": app.status,
        "rotated_at": _iso(app.rotated_at),
        "revoked_at": _iso(app.revoked_at),
        "version": app.version,
    }


def from_record(data: dict[str, Any]) -> App:
    created = _time(data["created_at"])
    assert created is not None
    return App(
        app_key=str(data["app_key"]),
        name=str(data["name"]),
        scopes=tuple(str(s) for s in data.get("scopes") or ()),
        rate_limit=int(data["rate_limit"]),
        burst_limit=int(data["burst_limit"]),
        daily_quota=int(data["daily_quota"]),
        created_at=created,
        created_by=str(data.get("created_by", "")),
        secret=str(data["secret"]),
        previous_secret=data.get("previous_secret"),
        previous_expires_at=_time(data.get("previous_expires_at")),
        api_key_id=str(data.get("api_key_id", "")),
        usage_plan_id=str(data.get("usage_plan_id", "")),
        usage_key=str(data.get("usage_key", "")),
        status=str(data.get("status", "active")),
        rotated_at=_time(data.get("rotated_at")),
        revoked_at=_time(data.get("revoked_at")),
        version=int(data.get("version", 1)),
    )


class VersionConflict(Exception):
    pass


class Apps:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def get(self, app_key: str) -> App | None:
        item = self.client.get_item(TableName=self.table, Key=app_key_item(app_key), ConsistentRead=True).get("Item")
        return from_record(from_item(item)) if item else None

    def add(self, app: App) -> None:
        self.client.put_item(
            TableName=self.table, Item=to_item(to_record(app)), ConditionExpression="attribute_not_exists(pk)"
        )

    def replace(self, app: App, read_version: int) -> None:
        try:
            self.client.put_item(
                TableName=self.table,
                Item=to_item(to_record(app)),
                ConditionExpression="version = :v",
                ExpressionAttributeValues={":v": value(read_version)},
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                raise VersionConflict(app.app_key) from exc
            raise

    def page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[App], dict[str, Any] | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": INDEX,
            "KeyConditionExpression": "kind = :k",
            "ExpressionAttributeValues": {":k": {"S": KIND}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        out = self.client.query(**kwargs)
        return [from_record(from_item(i)) for i in out.get("Items", [])], out.get("LastEvaluatedKey")

    def remember_nonce(self, app_key: str, nonce: str, now: int, ttl_s: int) -> bool:
        """Record a nonce; False when it was seen before (and has not yet expired)."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": f"NONCE#{app_key}#{nonce}"},
                    "sk": {"S": "NONCE"},
                    "expires_at": {"N": str(now + ttl_s)},
                },
                # TTL deletes lag; an expired nonce is as good as gone (its request fails the clock check anyway).
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def idempotent(self, actor: str, key: str, digest: str, app_key: str, now: int) -> tuple[str, str] | None:
        """Claim ``key`` for this request. None: claimed now, go on. Otherwise the (digest, app key) it was first
        used with."""
        item_key = {"pk": {"S": f"IDEMP#{actor}#{key}"}, "sk": {"S": "IDEMP"}}
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    **item_key,
                    "digest": {"S": digest},
                    "app_key": {"S": app_key},
                    "expires_at": {"N": str(now + IDEMPOTENCY_TTL_S)},
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            got = self.client.get_item(TableName=self.table, Key=item_key, ConsistentRead=True).get("Item") or {}
            return str(got.get("digest", {}).get("S", "")), str(got.get("app_key", {}).get("S", ""))
        return None


class KmsSecrets:
    """App secrets encrypted under the context's KMS key, bound to their app by the encryption context (a
    ciphertext copied onto another app's item does not decrypt)."""

    def __init__(self, client: Any, key_id: str) -> None:
        self.client = client
        self.key_id = key_id

    def encrypt(self, app_key: str, secret: str) -> str:
        blob = self.client.encrypt(
            KeyId=self.key_id, Plaintext=secret.encode(), EncryptionContext={"app_key": app_key}
        )["CiphertextBlob"]
        return base64.b64encode(blob).decode()

    def decrypt(self, app_key: str, ciphertext: str) -> str:
        return _decrypt(self.client, app_key, ciphertext)


@lru_cache(maxsize=256)
def _decrypt(client: Any, app_key: str, ciphertext: str) -> str:
    # A ciphertext always decrypts to the same secret, so remembering it is safe; revocation and rotation change
    # the app item, which is read on every request, not this cache.
    out = client.decrypt(CiphertextBlob=base64.b64decode(ciphertext), EncryptionContext={"app_key": app_key})
    return bytes(out["Plaintext"]).decode()


class UsagePlans:
    """Each app's API Gateway API key and usage plan (throttle = token bucket rate and burst, quota per day) on the
    API's stage. The authorizer names the key as the request's usage identifier, so API Gateway meters and
    throttles each app by its own plan; the local gateway reads the same plans back and enforces them."""

    def __init__(self, client: Any, api_id: str, stage: str) -> None:
        self.client = client
        self.api_id = api_id
        self.stage = stage

    def create(self, app: App, usage_key: str) -> tuple[str, str]:
        key_id = self.client.create_api_key(
            name=app.app_key, value=usage_key, enabled=True, description=f"partner app {app.app_key}"
        )["id"]
        plan_id = self.client.create_usage_plan(
            name=app.app_key,
            description=f"partner app {app.app_key}",
            apiStages=[{"apiId": self.api_id, "stage": self.stage}],
            throttle={"rateLimit": float(app.rate_limit), "burstLimit": app.burst_limit},
            quota={"limit": app.daily_quota, "period": "DAY"},
        )["id"]
        self.client.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
        return key_id, plan_id

    def disable(self, api_key_id: str) -> None:
        self.client.update_api_key(
            apiKey=api_key_id, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
        )
