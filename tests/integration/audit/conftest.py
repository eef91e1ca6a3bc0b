"""Audit fixtures: a moto shared by a whole module (for tests that call every route once and need no fresh state),
a stub of the audit publisher that keeps what each call would have put on the bus, entries as the bus delivers them
to the AuditRecorder, and the audit table's raw items."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from moto import mock_aws

from functions.audit.handlers import recorder
from functions.manifest import PLATFORM
from functions.shared import audit
from functions.shared.ids import new_id
from local.apigw import LambdaContext
from local.resources import Created, create_all
from tests.conftest import reset_process_caches
from tests.integration.checkout.conftest import sqs_event


@pytest.fixture(scope="module")
def module_aws() -> Iterator[Created]:
    """As tests/conftest.py's ``aws``, once per module: creating every resource takes seconds."""
    with mock_aws():
        reset_process_caches()
        created = create_all(PLATFORM, prefix="shop-audit")
        saved = {k: os.environ.get(k) for k in created.env}
        os.environ.update(created.env)
        try:
            yield created
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            reset_process_caches()


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The records the calls of a test publish (the bus itself is not called)."""
    records: list[dict[str, Any]] = []

    def keep(record: dict[str, Any]) -> bool:
        records.append(record)
        return True

    monkeypatch.setattr(audit, "publish", keep)
    return records


def entry(at: datetime, actor: str = "user:a", resource: str = "products/p1", action: str = "UpdateProduct") -> dict:
    """An ActionRecorded detail as functions.shared.audit builds it."""
    stamp = audit.iso(at.astimezone(UTC))
    entry_id = new_id(int(at.timestamp() * 1000))
    return {
        "event_id": entry_id,
        "occurred_at": stamp,
        "entry_id": entry_id,
        "at": stamp,
        "actor": actor,
        "actor_email": "a@example.com" if actor.startswith("user:") else None,
        "app_name": "Partner" if actor.startswith("app:") else None,
        "roles": ["partner"] if actor.startswith("app:") else ["admin"],
        "action": action,
        "method": "PUT",
        "path": "/admin/" + resource,
        "resource": resource,
        "summary": {"path_parameters": {}, "body": "{}", "truncated": False},
        "request_id": "req-" + entry_id,
        "source_ip": "203.0.113.9",
        "user_agent": "pytest",
        "result": {"status": 200, "error_code": None},
        "outcome": "succeeded",
    }


def record(*details: dict[str, Any]) -> dict[str, Any]:
    """Deliver each detail to the AuditRecorder as its queue would (one message each, in one batch)."""
    records = [sqs_event("ActionRecorded", "shop.audit", d)["Records"][0] for d in details]
    result: dict[str, Any] = recorder.handler({"Records": records}, LambdaContext("AuditRecorder"))
    return result


def stored(aws: Created) -> list[dict[str, Any]]:
    import boto3

    from functions.shared.dynamo import from_item

    items = boto3.client("dynamodb").scan(TableName=aws.env["AUDIT_TABLE_NAME"])["Items"]
    return [from_item(i) for i in items]
