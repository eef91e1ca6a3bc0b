"""Audit scenarios. Seed: 30 entries over the last three days, as the audited calls' own functions would publish
them (records built by ``functions.shared.audit.build_record`` for an admin's UpdateProduct, spread over two
products and two actors), appended through the AuditRecorder as their ActionRecorded events would be.

Every audited route already pays for its own record (one PutEvents) in its own scenarios: those are measured with
the other contexts' routes. Here: the recorder (a new entry, and a redelivery that the conditional put refuses) and
the admins' list route (the day walk of the default seven days, by actor, by resource).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import Bench, Claims
from bench.scenarios import scenario, seeder
from bench.scenarios.checkout import deliver, sqs_event
from functions.shared.audit import DETAIL_TYPE, SOURCE, build_record
from functions.shared.auth import from_event

ADMIN: Claims = {
    "sub": "44444444-4444-4444-8444-444444444444",
    "email": "admin@example.com",
    "cognito:groups": ["customer", "admin"],
    "token_use": "id",
}
OTHER_ADMIN: Claims = {**ADMIN, "sub": "66666666-6666-4666-8666-666666666666", "email": "ops@example.com"}
SEEDED = 30


def _seed(bench: Bench) -> dict[str, Any]:
    seed: dict[str, Any] = bench.seed["audit"]
    return seed


def audit_detail(bench: Bench, product_id: str, claims: Claims = ADMIN, at: datetime | None = None) -> dict[str, Any]:
    """The ActionRecorded detail of an admin's UpdateProduct of ``product_id`` (answered 200) at ``at``."""
    body = {"name": "Bench product, renamed", "description": "x" * 400, "version": 3}
    event = bench.event("PUT", f"/admin/products/{product_id}", body, claims)
    route = bench.route_for(event)
    answer = {"statusCode": 200, "body": json.dumps({"product_id": product_id, "version": 4})}
    return build_record(route, event, from_event(event), answer, at)


def recorder_event(detail: dict[str, Any]) -> dict[str, Any]:
    return sqs_event(SOURCE, DETAIL_TYPE, detail)


@seeder
def seed_audit(bench: Bench) -> None:
    products = [bench.unique("prd_bench_audit_"), bench.unique("prd_bench_audit_")]
    now = datetime.now(UTC)
    for i in range(SEEDED):
        claims = ADMIN if i % 3 else OTHER_ADMIN
        at = now - timedelta(hours=i * 2.4)  # three days' worth
        deliver(bench, "AuditRecorder", recorder_event(audit_detail(bench, products[i % 2], claims, at)))
    bench.seed["audit"] = {"products": products, "redelivered": audit_detail(bench, products[0])}
    deliver(bench, "AuditRecorder", recorder_event(_seed(bench)["redelivered"]))


@scenario("AuditRecorder", "one ActionRecorded: a new entry (conditional PutItem)", primary=True)
def record_entry(bench: Bench) -> dict[str, Any]:
    return recorder_event(audit_detail(bench, _seed(bench)["products"][0]))


@scenario("AuditRecorder", "a redelivered ActionRecorded (the conditional PutItem refuses it)")
def record_redelivered(bench: Bench) -> dict[str, Any]:
    return recorder_event(_seed(bench)["redelivered"])


@scenario("ListAuditEntries", "the last 7 days, newest first (first page of 20: a day walk)", primary=True)
def list_recent(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/admin/audit", claims=ADMIN)


@scenario("ListAuditEntries", "one actor's entries (Query on by_actor)")
def list_by_actor(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/admin/audit", claims=ADMIN, query={"actor": f"user:{OTHER_ADMIN['sub']}"})


@scenario("ListAuditEntries", "one product's entries (Query on by_resource)")
def list_by_resource(bench: Bench) -> dict[str, Any]:
    product = _seed(bench)["products"][1]
    return bench.event("GET", "/admin/audit", claims=ADMIN, query={"resource": f"products/{product}"})
