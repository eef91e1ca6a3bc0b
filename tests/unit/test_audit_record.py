"""The audit record a call leaves (functions.shared.audit): what it names, what it hides, and how it is published."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.audit.events import ActionRecorded
from functions.shared import audit
from functions.shared import aws as shared_aws
from functions.shared.auth import AuthContext
from functions.shared.wiring import PARTNER, Route, roles

ADMIN = AuthContext(user_id="u-1", email="ops@example.com", roles=frozenset({"customer", "admin"}))
APP = AuthContext(app_key="app_1", app_name="Logistics Co", scopes=frozenset({"inventory:write"}))


def route(method: str, path: str, name: str = "Op", partner: bool = False) -> Route:
    auth = PARTNER if partner else roles("catalog")
    return Route(
        name=name, handler="m.h", method=method, path=path, auth=auth, scope="inventory:write" if partner else None
    )


def event(path: str, params: dict[str, str] | None = None, body: Any = None, raw: str | None = None) -> dict[str, Any]:
    return {
        "path": path,
        "pathParameters": params,
        "body": raw if raw is not None else (None if body is None else json.dumps(body)),
        "headers": {"User-Agent": "curl/8"},
        "requestContext": {"requestId": "req-1", "identity": {"sourceIp": "203.0.113.9"}},
    }


def response(status: int, body: Any = None) -> dict[str, Any]:
    return {"statusCode": status, "body": json.dumps(body) if body is not None else ""}


@pytest.mark.parametrize(
    ("method", "template", "params", "answer", "expected"),
    [
        ("PUT", "/admin/products/{product_id}", {"product_id": "prd_1"}, response(200), "products/prd_1"),
        ("POST", "/admin/orders/{order_id}/refunds", {"order_id": "ord_1"}, response(201), "orders/ord_1"),
        ("POST", "/admin/returns/{return_id}/{action}", {"return_id": "r1", "action": "approve"}, response(200),
         "returns/r1"),
        ("POST", "/admin/products", None,
         response(201, {"product_id": "prd_2", "brand_id": "b", "category_id": "c"}), "products/prd_2"),
        ("POST", "/admin/categories", None, response(201, {"category_id": "cat_1", "parent_id": "cat_0"}),
         "categories/cat_1"),
        ("POST", "/admin/warehouses", None, response(201, {"code": "WH-1", "name": "A"}), "warehouses/WH-1"),
        ("POST", "/admin/search/reindex", None, response(202, {"job_id": "job_1"}), "search/job_1"),
        ("POST", "/admin/products", None, response(422, {"error": {"code": "VALIDATION_FAILED"}}), "products"),
    ],
)  # fmt: skip
def test_the_resource_is_the_collection_and_the_id_from_the_path_or_the_created_item(
    method: str, template: str, params: dict[str, str] | None, answer: dict[str, Any], expected: str
) -> None:
    concrete = template.replace("{product_id}", "prd_1").replace("{order_id}", "ord_1")
    record = audit.build_record(route(method, template), event(concrete, params, {}), ADMIN, answer)
    assert record["resource"] == expected


def test_a_partner_call_names_the_app_and_its_resource_after_the_version_prefix() -> None:
    r = route("POST", "/partner/v1/inventory/{sku}", "PartnerRecordStock", partner=True)
    record = audit.build_record(r, event("/partner/v1/inventory/SKU-1", {"sku": "SKU-1"}, {}), APP, response(201))
    assert (record["resource"], record["actor"], record["app_name"]) == ("inventory/SKU-1", "app:app_1", "Logistics Co")
    assert (record["roles"], record["actor_email"]) == (["partner"], None)


def test_the_record_has_every_field_of_action_recorded_and_nothing_else() -> None:
    now = datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
    r = route("PUT", "/admin/products/{product_id}", "UpdateProduct")
    record = audit.build_record(
        r, event("/admin/products/p1", {"product_id": "p1"}, {"a": 1}), ADMIN, response(200), now
    )
    parsed = ActionRecorded.model_validate(record)
    assert parsed.event_id == parsed.entry_id and record["at"] == "2025-03-04T05:06:07.123456Z"
    assert (parsed.actor, parsed.actor_email, parsed.roles) == ("user:u-1", "ops@example.com", ["admin", "customer"])
    assert (parsed.action, parsed.method, parsed.path) == ("UpdateProduct", "PUT", "/admin/products/p1")
    assert (parsed.request_id, parsed.source_ip, parsed.user_agent) == ("req-1", "203.0.113.9", "curl/8")
    assert parsed.summary.path_parameters == {"product_id": "p1"}


def test_the_summary_drops_secrets_and_masks_personal_data_at_any_depth() -> None:
    body = {
        "password": "hunter2",
        "new_secret": "s3cr3t",
        "contacts": [{"email": "lucy@example.com", "phone": "13812345678", "apiKey": "k-123", "region": "上海市"}],
        "refresh_token": "eyJ...",
        "note": "kept",
    }
    record = audit.build_record(route("POST", "/admin/brands"), event("/admin/brands", body=body), ADMIN, response(201))
    text = record["summary"]["body"]
    assert json.loads(text) == {
        "contacts": [{"email": "l***@example.com", "phone": "138****5678", "region": "上海市"}],
        "note": "kept",
    }
    for secret in ("hunter2", "s3cr3t", "k-123", "eyJ", "lucy@"):
        assert secret not in json.dumps(record)


def test_a_long_body_is_cut_to_two_kilobytes_and_says_so() -> None:
    body = {"description": "长" * 5000}
    record = audit.build_record(route("POST", "/admin/brands"), event("/admin/brands", body=body), ADMIN, response(201))
    summary = record["summary"]
    assert summary["truncated"] is True
    assert len(summary["body"].encode("utf-8")) <= audit.SUMMARY_MAX_BYTES
    assert summary["body"].startswith('{"description":"长长')


def test_a_body_that_is_not_json_is_never_recorded_only_its_size() -> None:
    raw = "email=a@b.co&password=hunter2"
    record = audit.build_record(route("POST", "/admin/brands"), event("/admin/brands", raw=raw), ADMIN, response(415))
    assert "hunter2" not in json.dumps(record)
    assert json.loads(record["summary"]["body"]) == {"not_recorded": f"{len(raw)} characters, not JSON"}


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [(201, None, "succeeded"), (403, "FORBIDDEN", "refused"), (413, "PAYLOAD_TOO_LARGE", "refused"),
     (500, "INTERNAL", "failed")],
)  # fmt: skip
def test_the_result_and_outcome_follow_the_status(status: int, code: str | None, outcome: str) -> None:
    answer = response(status, {"error": {"code": code, "message": "", "details": []}} if code else {"id": "x"})
    record = audit.build_record(route("POST", "/admin/brands"), event("/admin/brands", body={}), ADMIN, answer)
    assert record["result"] == {"status": status, "error_code": code}
    assert record["outcome"] == outcome


class FakeEvents:
    def __init__(self, *answers: dict[str, Any] | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries[0])
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


REJECTED = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]}
ACCEPTED = {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]}


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("EVENT_BUS_NAME", "shop-bus")

    def install(*answers: dict[str, Any] | Exception) -> FakeEvents:
        fake = FakeEvents(*answers)
        monkeypatch.setattr(shared_aws, "client", lambda service: fake)
        return fake

    return install


def test_a_rejected_entry_is_tried_again_and_goes_through(bus: Any) -> None:
    fake = bus(REJECTED, RuntimeError("connection reset"), ACCEPTED)
    record = audit.build_record(route("POST", "/admin/brands"), event("/admin/brands", body={}), ADMIN, response(201))
    assert audit.publish(record) is True
    assert len(fake.calls) == 3
    entry = fake.calls[-1]
    assert (entry["EventBusName"], entry["Source"], entry["DetailType"]) == ("shop-bus", "shop.audit", "ActionRecorded")
    assert json.loads(entry["Detail"]) == record


def test_an_undeliverable_record_is_logged_whole_and_never_raises(bus: Any, caplog: pytest.LogCaptureFixture) -> None:
    fake = bus(REJECTED, REJECTED, REJECTED)
    r = route("POST", "/admin/brands", "CreateBrand")
    audit.record_call(r, event("/admin/brands", body={"name": "Acme"}), ADMIN, response(201, {"brand_id": "b1"}))
    assert len(fake.calls) == audit.PUBLISH_ATTEMPTS
    (logged,) = [r for r in caplog.records if r.getMessage() == "audit record not delivered"]
    line = json.loads(audit.logger.registered_formatter.format(logged))  # as CloudWatch gets it
    assert line["level"] == "ERROR"
    assert (line["audit_record"]["action"], line["audit_record"]["resource"]) == ("CreateBrand", "brands/b1")
    assert line["audit_record"]["actor_email"] == "o***@example.com"  # masked in the log like every email
