"""Log subscriptions (``LogSubscription`` in a manifest): a CloudWatch Logs subscription filter on each source
function's log group, matching the JSON lines with the subscription's keys, delivering to its function."""

from __future__ import annotations

import pytest
from aws_cdk import App
from shop_templates import CDK_CONTEXT, Synth, function_ids_by_handler_name, get_att_targets, props, resources

from functions.manifest import PLATFORM
from functions.shared.wiring import ContextManifest, LogSubscription, Platform, Route
from infra.app import create_stack


def _log_group_of(template: dict[str, object], function_id: str) -> str:
    config = props(template["Resources"][function_id])["LoggingConfig"]  # type: ignore[index]
    return str(config["LogGroup"]["Ref"])


def test_the_search_feed_reaches_the_forwarder_from_both_search_handlers(stage: Synth) -> None:
    ids = function_ids_by_handler_name(stage)
    context, forwarder = ids["SearchLogForwarder"]
    template = stage.nested[context]
    filters = resources(template, "AWS::Logs::SubscriptionFilter")
    by_group = {str(props(f)["LogGroupName"]["Ref"]): props(f) for f in filters.values()}
    for source in ("ListProducts", "GetProduct"):
        group = _log_group_of(template, ids[source][1])
        assert group in by_group, source
        f = by_group[group]
        assert get_att_targets(f["DestinationArn"], "Arn") == [forwarder]
        # CDK's FilterPattern.exists: the field is present, whatever its value.
        assert f["FilterPattern"] == '{ ($.search_event = "*") || ($.search_view = "*") || ($.product_view = "*") }'
    assert len(filters) == 2  # no other log group is subscribed


def test_the_cart_feed_reaches_its_forwarder_from_add_cart_item_which_may_only_publish_events(dev: Synth) -> None:
    ids = function_ids_by_handler_name(dev)
    context, forwarder = ids["CartLogForwarder"]
    template = dev.nested[context]
    (f,) = [props(f) for f in resources(template, "AWS::Logs::SubscriptionFilter").values()]
    assert str(f["LogGroupName"]["Ref"]) == _log_group_of(template, ids["AddCartItem"][1])
    assert get_att_targets(f["DestinationArn"], "Arn") == [forwarder]
    assert f["FilterPattern"] == '{ $.cart_addition = "*" }'
    role = get_att_targets(props(template["Resources"][forwarder])["Role"], "Arn")
    actions = {
        str(action)
        for policy in resources(template, "AWS::IAM::Policy").values()
        if [r["Ref"] for r in props(policy)["Roles"]] == role
        for statement in props(policy)["PolicyDocument"]["Statement"]
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    }
    assert {a for a in actions if not a.startswith(("logs:", "xray:"))} == {"events:PutEvents"}  # no table


def test_cloudwatch_logs_may_invoke_the_forwarder_only_for_its_source_log_groups(dev: Synth) -> None:
    ids = function_ids_by_handler_name(dev)
    context, forwarder = ids["SearchLogForwarder"]
    template = dev.nested[context]
    permissions = [
        props(p)
        for p in resources(template, "AWS::Lambda::Permission").values()
        if get_att_targets(props(p)["FunctionName"], "Arn") == [forwarder]
    ]
    assert {p["Principal"] for p in permissions} == {"logs.amazonaws.com"}
    sources = {_log_group_of(template, ids[name][1]) for name in ("ListProducts", "GetProduct")}
    assert {t for p in permissions for t in get_att_targets(p["SourceArn"], "Arn")} == sources


def _platform(subscriptions: int) -> Platform:
    route = Route(name="TestSearch", handler="functions.x.handler", path="/x")
    subs = tuple(
        LogSubscription(name=f"TestFeed{i}", handler="functions.x.handler", sources=("TestSearch",), keys=("k",))
        for i in range(subscriptions)
    )
    return Platform(contexts=(ContextManifest(name="feeds", routes=(route,), log_subscriptions=subs),))


def test_a_log_group_gets_at_most_two_subscription_filters() -> None:
    with pytest.raises(ValueError, match="more than 2 subscription filters"):
        create_stack(App(context={**CDK_CONTEXT, "stage": "dev"}), _platform(3), nag=False)


def test_every_manifest_log_subscription_is_synthesised(dev: Synth) -> None:
    ids = function_ids_by_handler_name(dev)
    for context in PLATFORM.contexts:
        for subscription in context.log_subscriptions:
            assert subscription.name in ids
