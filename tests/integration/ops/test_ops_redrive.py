"""The dead-letter redrive path: messages go back to the consumer's queue with body and attributes, the consumer then
processes them, and a dry run moves nothing."""

from __future__ import annotations

import json

import boto3
import pytest

from local.resources import Created
from ops.redrive import main


def _count(sqs, url: str) -> int:  # type: ignore[no-untyped-def]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"])


def test_redrive_moves_every_dead_letter_back_to_its_consumers_queue(aws: Created) -> None:
    sqs = boto3.client("sqs")
    dead, live = aws.dlq_urls["OrderAllocator"], aws.queue_urls["OrderAllocator"]
    for i in range(12):
        sqs.send_message(
            QueueUrl=dead,
            MessageBody=json.dumps({"detail-type": "OrderPaid", "n": i}),
            MessageAttributes={"why": {"DataType": "String", "StringValue": "bug 123"}},
        )
    assert main(["--consumer", "OrderAllocator", "--prefix", "shop-test"]) == 0
    assert _count(sqs, dead) == 0
    got = []
    while True:
        batch = sqs.receive_message(QueueUrl=live, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
            "Messages", []
        )
        if not batch:
            break
        got.extend(batch)
    assert sorted(json.loads(m["Body"])["n"] for m in got) == list(range(12))
    assert all(m["MessageAttributes"]["why"]["StringValue"] == "bug 123" for m in got)


def test_a_dry_run_and_a_limit_move_only_what_they_say(aws: Created, capsys: pytest.CaptureFixture[str]) -> None:
    sqs = boto3.client("sqs")
    dead, live = aws.dlq_urls["PaymentRefunder"], aws.queue_urls["PaymentRefunder"]
    for i in range(3):
        sqs.send_message(QueueUrl=dead, MessageBody=json.dumps({"n": i}))
    assert main(["--queue-url", dead, "--to-url", live, "--dry-run"]) == 0
    assert "would move 3" in capsys.readouterr().out
    assert _count(sqs, live) == 0
    assert main(["--queue-url", dead, "--to-url", live, "--max", "2"]) == 0
    assert _count(sqs, live) == 2


def test_an_ambiguous_or_unknown_consumer_is_refused(aws: Created) -> None:
    with pytest.raises(SystemExit):
        main(["--consumer", "NoSuchConsumer", "--prefix", "shop-test"])
