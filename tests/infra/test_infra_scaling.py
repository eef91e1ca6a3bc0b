"""Provisioned concurrency, autoscaling and throttles as the stage config says (docs/capacity.md): hot functions are
served through a ``live`` alias with a provisioned floor, target tracking on utilisation and the planned promotions'
scheduled scaling in prod, and none of it in dev; per-route throttles sit under the stage's."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from shop_templates import Synth, api_methods, props, resources

from functions.manifest import PLATFORM
from infra.config import STAGES, HotPathScaling, PromotionWindow, RouteThrottle

HOT = {f.name for f in PLATFORM.functions if f.hot}


def _aliases(synth: Synth) -> dict[str, dict]:
    found = {}
    for template in synth.nested.values():
        for logical_id, alias in resources(template, "AWS::Lambda::Alias").items():
            found[logical_id] = props(alias)
    return found


def test_the_manifest_marks_the_hot_paths_the_issue_names() -> None:
    assert {"GetProduct", "ListProducts", "Checkout", "CreatePayment", "PaymentCallback", "AddCartItem"} <= HOT


def test_dev_provisions_nothing(dev: Synth) -> None:
    assert _aliases(dev) == {}
    for template in dev.nested.values():
        assert not resources(template, "AWS::ApplicationAutoScaling::ScalableTarget")


def test_prod_keeps_every_hot_function_warm_on_a_live_alias(prod: Synth) -> None:
    scaling = STAGES["prod"].hot_path
    assert scaling is not None
    aliases = _aliases(prod)
    assert len(aliases) == len(HOT)
    for alias in aliases.values():
        assert alias["Name"] == "live"
        assert alias["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": scaling.provisioned}
    for context, nested in prod.stack.contexts.items():
        for name, function in nested.functions.items():
            assert (function.alias is not None) == (name in HOT), (context, name)


def test_prod_scales_each_alias_on_utilisation_and_for_the_planned_promotion(prod: Synth) -> None:
    scaling = STAGES["prod"].hot_path
    assert scaling is not None
    targets = [
        props(t)
        for tpl in prod.nested.values()
        for t in resources(tpl, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    ]
    policies = [
        props(p)
        for tpl in prod.nested.values()
        for p in resources(tpl, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    ]
    assert len(targets) == len(HOT) == len(policies)
    for target in targets:
        assert target["ScalableDimension"] == "lambda:function:ProvisionedConcurrency"
        assert (target["MinCapacity"], target["MaxCapacity"]) == (scaling.provisioned, scaling.maximum)
        upcoming = [p for p in scaling.promotions if p.ends_at > datetime.now(UTC)]
        actions = {a["ScheduledActionName"]: a for a in target.get("ScheduledActions", [])}
        for promotion in upcoming:
            up, down = actions[f"{promotion.name}Up"], actions[f"{promotion.name}Down"]
            assert up["Schedule"] == f"at({promotion.scale_up_at:%Y-%m-%dT%H:%M:%S})"
            assert up["ScalableTargetAction"]["MinCapacity"] == promotion.provisioned
            assert down["Schedule"] == f"at({promotion.ends_at.astimezone(UTC):%Y-%m-%dT%H:%M:%S})"
            assert down["ScalableTargetAction"]["MinCapacity"] == scaling.provisioned
    for policy in policies:
        tracking = policy["TargetTrackingScalingPolicyConfiguration"]
        assert tracking["TargetValue"] == scaling.target_utilization
        assert (
            tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
            == "LambdaProvisionedConcurrencyUtilization"
        )


def test_the_api_calls_the_alias_of_a_hot_route(prod: Synth) -> None:
    hot_routes = [r for r in PLATFORM.routes if r.hot]
    for route in hot_routes:
        nested = prod.stack.contexts[PLATFORM.context_of(route).name]
        alias = nested.functions[route.name].alias
        assert alias is not None
    methods = {(m.http_method, m.path): m for m in api_methods(prod)}
    assert all(r.key in methods for r in hot_routes)


def test_a_promotion_scales_up_fifteen_minutes_before_it_starts() -> None:
    start = datetime(2030, 1, 1, 20, 0, tzinfo=UTC)
    promotion = PromotionWindow("NewYear", start, start + timedelta(hours=1), provisioned=30)
    assert promotion.scale_up_at == datetime(2030, 1, 1, 19, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    "make",
    [
        lambda: PromotionWindow("Naive", datetime(2030, 1, 1), datetime(2030, 1, 2), provisioned=1),
        lambda: PromotionWindow("Back", datetime(2030, 1, 2, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC), 1),
        lambda: PromotionWindow("bad name", datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 2, tzinfo=UTC), 1),
        lambda: HotPathScaling(provisioned=0, maximum=10),
        lambda: HotPathScaling(provisioned=20, maximum=10),
        lambda: HotPathScaling(provisioned=1, maximum=10, target_utilization=1.5),
    ],
)
def test_a_nonsensical_scaling_config_is_refused(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        make()


def test_prod_throttles_the_routes_its_capacity_model_names_below_the_stage(prod: Synth) -> None:
    config = STAGES["prod"]
    (stage,) = resources(prod.parent, "AWS::ApiGateway::Stage").values()
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in props(stage)["MethodSettings"]}
    assert settings[("/*", "*")]["ThrottlingRateLimit"] == config.api_rate_limit
    assert config.api_rate_limit <= 10_000 and config.api_burst_limit <= 5_000  # the account's API Gateway limits
    by_name = {r.name: r for r in PLATFORM.routes}
    assert config.route_throttles
    for name, throttle in config.route_throttles.items():
        route = by_name[name]
        key = ("/" + route.path.replace("/", "~1"), route.method)
        assert isinstance(throttle, RouteThrottle)
        assert settings[key]["ThrottlingRateLimit"] == throttle.rate < config.api_rate_limit
        assert settings[key]["ThrottlingBurstLimit"] == throttle.burst


def test_consumers_that_call_providers_are_capped_in_concurrency(dev: Synth, prod: Synth) -> None:
    capped = [c for c in PLATFORM.functions if getattr(c, "max_concurrency", None)]
    assert {"PaymentRefunder", "ReturnRefunder"} <= {c.name for c in capped}
    for synth in (dev, prod):
        mappings = [
            props(m)
            for t in synth.nested.values()
            for m in resources(t, "AWS::Lambda::EventSourceMapping").values()
            if "ScalingConfig" in props(m)
        ]
        assert sorted(m["ScalingConfig"]["MaximumConcurrency"] for m in mappings) == sorted(
            c.max_concurrency for c in capped
        )
    reserved = {f.name: f.reserved_concurrency for f in PLATFORM.functions if f.reserved_concurrency}
    for synth, expected in ((dev, set()), (prod, set(reserved.values()))):
        found = {
            props(f)["ReservedConcurrentExecutions"]
            for t in synth.nested.values()
            for f in resources(t, "AWS::Lambda::Function").values()
            if "ReservedConcurrentExecutions" in props(f)
        }
        assert found == expected


def test_prod_has_a_waf_with_per_ip_rate_rules_and_dev_has_none(dev: Synth, prod: Synth) -> None:
    assert not resources(dev.parent, "AWS::WAFv2::WebACL")
    waf = STAGES["prod"].waf
    assert waf is not None
    (acl,) = resources(prod.parent, "AWS::WAFv2::WebACL").values()
    rules = {r["Name"]: r for r in props(acl)["Rules"]}
    assert rules["PerIp"]["Statement"]["RateBasedStatement"]["Limit"] == waf.requests_per_5_minutes_per_ip
    auth = rules["AuthPerIp"]["Statement"]["RateBasedStatement"]
    assert auth["Limit"] == waf.auth_requests_per_5_minutes_per_ip
    assert auth["ScopeDownStatement"]["ByteMatchStatement"]["SearchString"] == "/auth/"
    block = rules["PerIp"]["Action"]["Block"]["CustomResponse"]
    assert block["ResponseCode"] == 429
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"} <= set(rules)
    (association,) = resources(prod.parent, "AWS::WAFv2::WebACLAssociation").values()
    assert "Stage" in json.dumps(props(association)["ResourceArn"])
