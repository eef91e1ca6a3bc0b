"""The local gateway's usage plans (local.throttle) with a fake API Gateway client and fake clocks, and the partner
authorizer helpers of local.apigw (policy evaluation, the REQUEST authorizer event)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.shared.wiring import PARTNER, Route
from local.apigw import authorizer_context, build_authorizer_event, build_event, method_arn, policy_allows
from local.throttle import PLAN_CACHE_S, UsagePlans

API, STAGE = "api123", "local"


@dataclass
class FakeApiGateway:
    """API keys (value -> enabled) each with one usage plan, as the partners context creates them."""

    plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    enabled: dict[str, bool] = field(default_factory=dict)
    calls: int = 0

    def add(self, value: str, rate: float, burst: int, quota: int | None = None, stage: str = STAGE) -> None:
        self.enabled[value] = True
        plan: dict[str, Any] = {
            "apiStages": [{"apiId": "another-api", "stage": STAGE}, {"apiId": API, "stage": stage}],
            "throttle": {"rateLimit": rate, "burstLimit": burst},
        }
        if quota is not None:
            plan["quota"] = {"limit": quota, "period": "DAY"}
        self.plans[value] = plan

    def get_api_keys(self, includeValues: bool, limit: int) -> dict[str, Any]:
        self.calls += 1
        assert includeValues
        return {"items": [{"id": f"id-{v}", "value": v, "enabled": on} for v, on in self.enabled.items()]}

    def get_usage_plans(self, keyId: str) -> dict[str, Any]:
        return {"items": [self.plans[keyId.removeprefix("id-")]]}


class Clocks:
    def __init__(self) -> None:
        self.mono = 1000.0
        self.now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


def plans_for(apigw: FakeApiGateway, clocks: Clocks) -> UsagePlans:
    return UsagePlans(apigw, API, STAGE, clock=lambda: clocks.mono, wall=lambda: clocks.now)


def test_a_full_bucket_allows_a_burst_then_refills_at_the_rate(clocks: Clocks) -> None:
    apigw = FakeApiGateway()
    apigw.add("key-a", rate=2, burst=3)
    plans = plans_for(apigw, clocks)
    assert [plans.take("key-a").allowed for _ in range(4)] == [True, True, True, False]
    clocks.advance(0.5)  # one token back at 2 per second
    assert [plans.take("key-a").allowed for _ in range(2)] == [True, False]
    clocks.advance(10)  # never more than the burst
    assert [plans.take("key-a").allowed for _ in range(4)] == [True, True, True, False]


def test_an_empty_bucket_says_when_a_token_is_back(clocks: Clocks) -> None:
    apigw = FakeApiGateway()
    apigw.add("slow", rate=0.25, burst=1)
    plans = plans_for(apigw, clocks)
    assert plans.take("slow").allowed
    refused = plans.take("slow")
    assert (refused.allowed, refused.status, refused.code, refused.retry_after_s) == (False, 429, "THROTTLED", 4)
    clocks.advance(3)
    assert plans.take("slow").retry_after_s == 1  # a quarter token short: rounded up, never 0
    clocks.advance(1)
    assert plans.take("slow").allowed


def test_the_daily_quota_runs_out_and_comes_back_at_utc_midnight(clocks: Clocks) -> None:
    apigw = FakeApiGateway()
    apigw.add("quota", rate=100, burst=100, quota=3)
    plans = plans_for(apigw, clocks)
    clocks.now = datetime(2026, 3, 1, 23, 59, 0, 500_000, tzinfo=UTC)
    assert [plans.take("quota").allowed for _ in range(3)] == [True, True, True]
    spent = plans.take("quota")
    assert (spent.allowed, spent.status, spent.code) == (False, 429, "QUOTA_EXCEEDED")
    assert spent.retry_after_s == 60  # 59.5 s to midnight, rounded up
    clocks.advance(59)
    assert plans.take("quota").retry_after_s == 1
    clocks.advance(1)  # 00:00:00.5 the next day
    assert [plans.take("quota").allowed for _ in range(4)] == [True, True, True, False]


def test_an_unknown_or_disabled_key_is_forbidden_and_plans_are_read_again_after_the_cache_time(clocks: Clocks) -> None:
    apigw = FakeApiGateway()
    apigw.add("known", rate=5, burst=5)
    apigw.add("elsewhere", rate=5, burst=5, stage="prod")  # a plan for another stage does not count here
    plans = plans_for(apigw, clocks)
    for key in ("nobody", "elsewhere"):
        refused = plans.take(key)
        assert (refused.allowed, refused.status, refused.retry_after_s) == (False, 403, 0)
    assert plans.take("known").allowed
    calls = apigw.calls
    apigw.enabled["known"] = False  # revoked: the partners context disables the key
    apigw.add("nobody", rate=5, burst=5)  # and a new app appears
    clocks.advance(PLAN_CACHE_S - 0.1)
    assert plans.take("known").allowed and not plans.take("nobody").allowed  # still the cached plans
    assert apigw.calls == calls
    clocks.advance(0.2)
    assert plans.take("known").status == 403 and plans.take("nobody").allowed
    assert apigw.calls == calls + 2


def test_each_key_has_its_own_bucket(clocks: Clocks) -> None:
    apigw = FakeApiGateway()
    apigw.add("one", rate=1, burst=2)
    apigw.add("two", rate=1, burst=2)
    plans = plans_for(apigw, clocks)
    assert [plans.take("one").allowed for _ in range(3)] == [True, True, False]
    assert [plans.take("two").allowed for _ in range(3)] == [True, True, False]


ROUTE = Route(
    name="PartnerGetOrder",
    handler="functions.checkout.handlers.partner_get_order.handler",
    method="GET",
    path="/partner/v1/orders/{order_id}",
    auth=PARTNER,
    scope="orders:read",
)
ARN = "arn:aws:execute-api:us-east-1:123456789012:local/local/GET/partner/v1/orders/ord_1"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"principalId": "app_1", "policyDocument": {"Version": "2012-10-17", "Statement": list(statements)}}


def statement(effect: str, resource: Any, action: Any = "execute-api:Invoke") -> dict[str, Any]:
    return {"Action": action, "Effect": effect, "Resource": resource}


def test_policy_evaluation_allow_deny_wildcards_and_actions() -> None:
    assert method_arn(ROUTE, "/partner/v1/orders/ord_1") == ARN
    assert policy_allows(policy(statement("Allow", [ARN])), ARN)
    assert policy_allows(policy(statement("Allow", ARN, ["execute-api:Invoke"])), ARN)
    assert not policy_allows(policy(statement("Allow", ARN.replace("ord_1", "ord_2"))), ARN)
    assert not policy_allows(policy(statement("Allow", ARN), statement("Deny", ARN)), ARN)  # Deny wins
    assert not policy_allows(policy(statement("Deny", ARN), statement("Allow", ARN)), ARN)  # in any order
    assert policy_allows(policy(statement("Allow", "arn:aws:execute-api:us-east-1:123456789012:local/*")), ARN)
    assert policy_allows(policy(statement("Allow", "arn:aws:execute-api:*:*:local/local/GET/partner/*/ord_?")), ARN)
    assert not policy_allows(policy(statement("Allow", "arn:aws:execute-api:*:*:local/local/POST/*")), ARN)
    wide_deny = statement("Deny", "arn:aws:execute-api:us-east-1:123456789012:local/local/*/partner/v1/orders/*")
    assert not policy_allows(policy(statement("Allow", "*"), wide_deny), ARN)
    assert policy_allows(policy(statement("Allow", ARN, "execute-api:*")), ARN)
    assert policy_allows(policy(statement("Allow", ARN, "Execute-API:invoke")), ARN)  # IAM: any case
    assert not policy_allows(policy(statement("Allow", ARN, "execute-api:ManageConnections")), ARN)
    assert not policy_allows(policy(statement("Allow", ARN, "s3:GetObject"), statement("Deny", "*", "s3:*")), ARN)
    assert not policy_allows(policy(), ARN) and not policy_allows({"principalId": "x"}, ARN)
    assert not policy_allows(None, ARN) and not policy_allows("Allow", ARN)
    single = {"principalId": "x", "policyDocument": {"Statement": statement("Allow", ARN)}}  # not in a list
    assert policy_allows(single, ARN)


def test_the_authorizer_event_has_the_request_but_never_the_body_and_its_answer_is_flattened() -> None:
    headers = {"X-App-Key": "app_1", "X-Nonce": "n" * 20, "Content-Type": "application/json"}
    proxy = build_event(
        ROUTE,
        "/partner/v1/orders/ord_1",
        {"order_id": "ord_1"},
        [("a", "1"), ("a", "2")],
        headers,
        body='{"secret": "not for the authorizer"}',
        authorizer={"principalId": "someone"},
    )
    event = build_authorizer_event(proxy, ROUTE)
    assert event["type"] == "REQUEST" and event["methodArn"] == ARN
    assert "body" not in event and "isBase64Encoded" not in event
    assert "not for the authorizer" not in repr(event)
    assert (event["resource"], event["path"], event["httpMethod"]) == (ROUTE.path, "/partner/v1/orders/ord_1", "GET")
    assert event["headers"] == headers and event["pathParameters"] == {"order_id": "ord_1"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["queryStringParameters"] == {"a": "2"}
    assert "authorizer" not in event["requestContext"]
    assert event["requestContext"]["requestId"] == proxy["requestContext"]["requestId"]
    assert build_authorizer_event(proxy, ROUTE, stage="prod")["methodArn"].endswith("/prod/GET/partner/v1/orders/ord_1")

    # What the route then sees of the authorizer's answer: the principal and the context, all strings.
    answer = {"principalId": "app_1", "context": {"app_key": "app_1", "rate": 5, "trusted": True, "beta": False}}
    assert authorizer_context(answer) == {
        "principalId": "app_1",
        "app_key": "app_1",
        "rate": "5",
        "trusted": "true",
        "beta": "false",
    }
