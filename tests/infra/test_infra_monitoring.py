"""Alarms and the dashboard: every dead-letter and failure queue, every consumer queue's age, every table's
throttles, the API's 5xx rate and p99 latency, Lambda throttles and the orders-placed anomaly band, all notifying
the stage's alarm topic; and one dashboard."""

from __future__ import annotations

import json

from shop_templates import Synth, props, resources

from functions.manifest import PLATFORM


def _alarms(synth: Synth) -> list[dict]:
    return [props(a) for t in synth.templates.values() for a in resources(t, "AWS::CloudWatch::Alarm").values()]


def _topic_id(synth: Synth) -> str:
    (topic_id,) = resources(synth.parent, "AWS::SNS::Topic")
    return topic_id


def test_the_alarm_topic_is_tls_only_and_encrypted(dev: Synth) -> None:
    (topic,) = resources(dev.parent, "AWS::SNS::Topic").values()
    assert props(topic)["KmsMasterKeyId"]
    policies = [props(p) for p in resources(dev.parent, "AWS::SNS::TopicPolicy").values()]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for p in policies
        for s in p["PolicyDocument"]["Statement"]
    )


def test_every_queue_a_message_can_die_in_has_a_depth_alarm(stage: Synth) -> None:
    alarms = _alarms(stage)
    depth = [a for a in alarms if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"]
    consumers = [c for c in PLATFORM.functions if c.__class__.__name__ == "Consumer"]
    stream_consumers = [s for c in PLATFORM.contexts for s in c.stream_consumers]
    assert len(depth) == len(consumers) + len(stream_consumers)
    for alarm in depth:
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
        assert alarm["TreatMissingData"] == "notBreaching"
    age = [a for a in alarms if a.get("MetricName") == "ApproximateAgeOfOldestMessage"]
    assert len(age) == len(consumers)


def test_every_table_alarms_on_throttled_requests(dev: Synth) -> None:
    alarms = _alarms(dev)
    throttles = [a for a in alarms if "throttle" in a.get("AlarmDescription", "") and "table" in a["AlarmDescription"]]
    assert len(throttles) == len(PLATFORM.tables)


def test_the_api_lambda_and_orders_alarms_exist_and_notify_the_topic(prod: Synth) -> None:
    alarms = _alarms(prod)
    text = json.dumps(alarms)
    assert "5XXError" in text and "p99" in text and '"Throttles"' in text
    anomaly = [a for a in alarms if a.get("ThresholdMetricId") == "band"]
    assert len(anomaly) == 1
    (band,) = [m for m in anomaly[0]["Metrics"] if m["Id"] == "band"]
    assert band["Expression"] == "ANOMALY_DETECTION_BAND(orders, 2)"
    topic = _topic_id(prod)
    for alarm in alarms:
        assert alarm["AlarmActions"], alarm.get("AlarmDescription")
        assert "Ref" in json.dumps(alarm["AlarmActions"]) or topic in json.dumps(alarm["AlarmActions"])


def test_one_dashboard_shows_business_api_lambda_and_queue_health(stage: Synth) -> None:
    (dashboard,) = resources(stage.parent, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(props(dashboard)["DashboardBody"])
    for title in ("Orders placed", "Payments", "Stock-outs", "API latency", "Lambda", "Dead-letter queues"):
        assert title in body


def test_an_undelivered_audit_record_from_any_audited_route_alarms(dev: Synth) -> None:
    filters = [props(f) for t in dev.nested.values() for f in resources(t, "AWS::Logs::MetricFilter").values()]
    audit = [f for f in filters if f["MetricTransformations"][0]["MetricName"] == "AuditRecordsUndelivered"]
    assert len(audit) == len([r for r in PLATFORM.routes if r.audited])
    assert all("audit record not delivered" in f["FilterPattern"] for f in audit)
    alarms = _alarms(dev)
    assert any(a.get("MetricName") == "AuditRecordsUndelivered" and a["Threshold"] == 0 for a in alarms)
