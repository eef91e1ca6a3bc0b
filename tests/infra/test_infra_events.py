"""Event plumbing the current manifests do not use yet (consumers, schedules, empty contexts), synthesised from a
small manifest of its own, so the code path exists and is checked before the first real consumer arrives."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App
from shop_templates import (
    CDK_CONTEXT,
    Synth,
    function_ids_by_handler_name,
    get_att_targets,
    nag_findings,
    props,
    resources,
    role_statements,
    synthesize,
)

from functions.shared.wiring import (
    Access,
    Consumer,
    ContextManifest,
    EventPattern,
    Index,
    Platform,
    Route,
    Schedule,
    StreamConsumer,
    Table,
    Use,
    reads,
    roles,
    writes,
)
from infra.app import create_stack

ORDERS = Table("orders", indexes=(Index("by_user", "user_pk", "sk"),), ttl_attribute="expires_at")
CONSUMER = Consumer(
    name="TestReserveStock",
    handler="functions.orders_test.handlers.reserve.handler",
    uses=(writes(ORDERS.ref),),
    patterns=(
        EventPattern("shop.checkout", ("OrderPlaced",)),
        EventPattern("shop.catalog", ("ProductArchived", "ProductCreated")),
    ),
    batch_size=25,
    max_receive_count=3,
    visibility_timeout_s=90,
    timeout_s=15,
)
SCHEDULE = Schedule(
    name="TestExpireReservations",
    handler="functions.orders_test.handlers.expire.handler",
    uses=(writes(ORDERS.ref),),
    rate_minutes=5,
)
ROUTE = Route(
    name="TestListOrders",
    handler="functions.orders_test.handlers.list_orders.handler",
    method="GET",
    path="/admin/orders",
    auth=roles("fulfilment"),
    uses=(reads(ORDERS.ref),),
)
REBUILD = Schedule(
    name="TestRebuildIndex",
    handler="functions.orders_test.handlers.rebuild.handler",
    uses=(Use(ORDERS.ref, Access.READ, ("dynamodb:Scan", "dynamodb:GetItem")),),
    rate_minutes=60,
)
CONTEXT = ContextManifest(
    name="orders-test", tables=(ORDERS,), routes=(ROUTE,), consumers=(CONSUMER,), schedules=(SCHEDULE, REBUILD)
)
PLATFORM = Platform(contexts=(CONTEXT, ContextManifest(name="empty")))


@pytest.fixture(scope="module")
def synth() -> Synth:
    return synthesize("dev", PLATFORM)


def test_an_empty_context_produces_nothing(synth: Synth) -> None:
    assert set(synth.nested) == {"orders-test"}


def test_a_consumer_reads_its_own_queue_with_a_dead_letter_queue(synth: Synth) -> None:
    template = synth.nested["orders-test"]
    queues = resources(template, "AWS::SQS::Queue")
    (queue_id,) = [q for q, v in queues.items() if "RedrivePolicy" in props(v)]
    queue = props(queues[queue_id])
    (dlq_id,) = get_att_targets(queue["RedrivePolicy"]["deadLetterTargetArn"], "Arn")
    assert dlq_id in queues and dlq_id != queue_id
    assert queue["RedrivePolicy"]["maxReceiveCount"] == CONSUMER.max_receive_count
    assert queue["VisibilityTimeout"] == CONSUMER.visibility_timeout_s
    for q in (queue, props(queues[dlq_id])):
        assert q["SqsManagedSseEnabled"] is True

    _, function_id = function_ids_by_handler_name(synth)[CONSUMER.name]
    (mapping,) = resources(template, "AWS::Lambda::EventSourceMapping").values()
    m = props(mapping)
    assert get_att_targets(m["EventSourceArn"], "Arn") == [queue_id]
    assert m["FunctionName"] == {"Ref": function_id}
    assert m["BatchSize"] == CONSUMER.batch_size
    assert m["MaximumBatchingWindowInSeconds"] == 1  # required above 10 messages
    assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    receive = [s for s in role_statements(template, function_id) if "sqs:ReceiveMessage" in s.actions]
    assert receive and all(get_att_targets(s.resources, "Arn") == [queue_id] for s in receive)


def test_a_consumer_is_subscribed_on_the_shared_bus_with_its_patterns(synth: Synth) -> None:
    template = synth.nested["orders-test"]
    queues = resources(template, "AWS::SQS::Queue")
    (queue_id,) = [q for q, v in queues.items() if "RedrivePolicy" in props(v)]
    (rule,) = [r for r in resources(template, "AWS::Events::Rule").values() if "EventPattern" in props(r)]
    p = props(rule)
    assert p["EventPattern"] == {
        "source": ["shop.catalog", "shop.checkout"],
        "detail-type": ["OrderPlaced", "ProductArchived", "ProductCreated"],
    }
    bus_param = p["EventBusName"]["Ref"]
    (bus_id,) = resources(synth.parent, "AWS::Events::EventBus")
    assert synth.nested_parameters("orders-test")[bus_param] == {"Ref": bus_id}
    (target,) = p["Targets"]
    assert get_att_targets(target["Arn"], "Arn") == [queue_id]
    (policy,) = [
        props(p)
        for p in resources(template, "AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in props(p)["Queues"]
    ]
    (allow,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage" or set(allow["Action"]) <= {
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }
    assert "aws:SourceArn" in json.dumps(allow["Condition"])


def test_a_schedule_fires_its_function_at_the_manifest_rate(synth: Synth) -> None:
    template = synth.nested["orders-test"]
    _, function_id = function_ids_by_handler_name(synth)[SCHEDULE.name]
    ((rule_id, rule),) = [
        (k, r)
        for k, r in resources(template, "AWS::Events::Rule").items()
        if "ScheduleExpression" in props(r)
        and any(get_att_targets(t["Arn"], "Arn") == [function_id] for t in props(r)["Targets"])
    ]
    assert props(rule)["ScheduleExpression"] == "rate(5 minutes)"
    (target,) = props(rule)["Targets"]
    assert get_att_targets(target["Arn"], "Arn") == [function_id]
    permissions = [
        props(p)
        for p in resources(template, "AWS::Lambda::Permission").values()
        if props(p)["Principal"] == "events.amazonaws.com"
    ]
    assert any(get_att_targets(p["SourceArn"], "Arn") == [rule_id] for p in permissions)


def test_grants_name_only_the_declared_indexes(synth: Synth) -> None:
    template = synth.nested["orders-test"]
    _, function_id = function_ids_by_handler_name(synth)[ROUTE.name]
    index_statements = [
        s for s in role_statements(template, function_id) if any("/index/" in json.dumps(r) for r in s.resources)
    ]
    assert index_statements
    rendered = json.dumps([s.resources for s in index_statements])
    assert "/index/by_user" in rendered and "/index/*" not in rendered
    assert {a for s in index_statements for a in s.actions} == {"dynamodb:Query"}


def test_a_use_that_lists_table_actions_gets_exactly_those(synth: Synth) -> None:
    """How a rebuild opts into Scan: the manifest's Use lists the actions, which replace the READ defaults."""
    template = synth.nested["orders-test"]
    _, function_id = function_ids_by_handler_name(synth)[REBUILD.name]
    statements = [
        s for s in role_statements(template, function_id) if any(a.startswith("dynamodb:") for a in s.actions)
    ]
    by_resource = {json.dumps(s.resources): set(s.actions) for s in statements}
    assert len(by_resource) == 2, by_resource
    on_table = next(a for r, a in by_resource.items() if "/index/" not in r)
    on_index = next(a for r, a in by_resource.items() if "/index/by_user" in r)
    assert on_table == {"dynamodb:Scan", "dynamodb:GetItem"}
    assert on_index == {"dynamodb:Scan"}


def test_the_event_plumbing_passes_cdk_nag(synth: Synth) -> None:
    failing = [
        r for r in nag_findings(synth.outdir) if r["Compliance"] == "Non-Compliant" and r["Rule Level"] == "Error"
    ]
    assert not failing, failing


def _build(platform: Platform) -> None:
    create_stack(App(context={**CDK_CONTEXT, "stage": "dev"}), platform, nag=False)


def test_a_consumer_whose_messages_reappear_before_it_times_out_is_refused() -> None:
    bad = Consumer(
        name="TestSlow",
        handler="functions.x.handler",
        patterns=(EventPattern("shop.checkout", ("OrderPlaced",)),),
        timeout_s=120,
        visibility_timeout_s=60,
    )
    with pytest.raises(ValueError, match="visibility_timeout_s"):
        _build(Platform(contexts=(ContextManifest(name="slow", consumers=(bad,)),)))


def test_a_stream_consumer_on_a_table_without_a_stream_is_refused() -> None:
    table = Table("plain")
    relay = StreamConsumer(
        name="TestRelay", handler="functions.shared.relay.handler", table="plain", uses=(reads(table.ref),)
    )
    with pytest.raises(ValueError, match="no stream"):
        _build(Platform(contexts=(ContextManifest(name="plain", tables=(table,), stream_consumers=(relay,)),)))
