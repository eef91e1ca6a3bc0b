"""Redrive a consumer's dead-letter queue: move its messages back to the queue they came from, so the consumer
processes them again (after the bug that sent them there is fixed: consumers are idempotent, a message processed
twice changes nothing).

    python -m ops.redrive --stage prod --consumer OrderAllocator            # every message
    python -m ops.redrive --queue-url <dlq url> --to-url <queue url> --max 10 --dry-run

With ``--stage`` the queues are found by the consumer's name among the stage's queues (the CDK app names them
``...<Consumer>Events...DeadLetters...`` and ``...<Consumer>EventsQueue...``). Locally, point ``AWS_ENDPOINT_URL`` at
the platform's moto (its URL is in the ``make run`` banner) and use ``--prefix shop-local``.

Messages are moved one by one: sent to the source queue with the same body and attributes, then deleted from the
dead-letter queue, so a crash in between duplicates a message rather than losing it. In AWS the console's "Start
DLQ redrive" (SQS StartMessageMoveTask) does the same server-side; ``--native`` asks for that instead.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

import boto3

BATCH = 10


@dataclass
class Moved:
    moved: int = 0
    seen: int = 0


def find_queues(sqs: Any, consumer: str, prefix: str) -> tuple[str, str]:
    """(dead-letter queue URL, source queue URL) of a consumer, by its name."""
    urls: list[str] = []
    for page in sqs.get_paginator("list_queues").paginate(QueueNamePrefix=prefix):
        urls.extend(page.get("QueueUrls", []))

    def ours(name: str) -> bool:
        # CDK: ...<Consumer>EventsQueue... / ...<Consumer>EventsDeadLetters...; local: <prefix>-<Consumer>[-dlq]
        return f"{consumer}Events" in name or name.endswith((f"-{consumer}", f"-{consumer}-dlq"))

    named = [u for u in urls if ours(u.rsplit("/", 1)[-1])]
    dead = [u for u in named if "dlq" in u.lower() or "deadletters" in u.lower()]
    live = [u for u in named if u not in dead]
    if len(dead) != 1 or len(live) != 1:
        raise SystemExit(f"expected one queue and one dead-letter queue for {consumer}, found {sorted(named)}")
    return dead[0], live[0]


def redrive(sqs: Any, dead_url: str, to_url: str, limit: int | None = None, dry_run: bool = False) -> Moved:
    result = Moved()
    while limit is None or result.seen < limit:
        wanted = BATCH if limit is None else min(BATCH, limit - result.seen)
        messages = sqs.receive_message(
            QueueUrl=dead_url,
            MaxNumberOfMessages=wanted,
            MessageAttributeNames=["All"],
            # A dry run only looks: the messages stay visible to the next look (or the real run).
            VisibilityTimeout=0 if dry_run else 30,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            result.seen += 1
            if dry_run:
                print(f"would move {message['MessageId']}: {message['Body'][:120]}")
                continue
            kwargs: dict[str, Any] = {"QueueUrl": to_url, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                kwargs["MessageAttributes"] = message["MessageAttributes"]
            sqs.send_message(**kwargs)
            sqs.delete_message(QueueUrl=dead_url, ReceiptHandle=message["ReceiptHandle"])
            result.moved += 1
        if dry_run:
            break  # a dry run shows one batch
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Move a consumer's dead letters back to its queue.")
    parser.add_argument("--consumer", help="manifest name of the consumer, e.g. OrderAllocator")
    parser.add_argument("--stage", help="find the queues of this stage (names start with Shop-<stage>)")
    parser.add_argument("--prefix", help="queue name prefix instead of the stage's (shop-local for make run)")
    parser.add_argument("--queue-url", help="the dead-letter queue")
    parser.add_argument("--to-url", help="the queue to move the messages to")
    parser.add_argument("--max", type=int, default=None, help="move at most this many")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--native", action="store_true", help="SQS StartMessageMoveTask (AWS only)")
    args = parser.parse_args(argv)
    sqs = boto3.client("sqs")
    if args.queue_url and args.to_url:
        dead, live = args.queue_url, args.to_url
    elif args.consumer and (args.stage or args.prefix):
        dead, live = find_queues(sqs, args.consumer, args.prefix or f"Shop-{args.stage}")
    else:
        parser.error("give --consumer with --stage or --prefix, or --queue-url with --to-url")
    if args.native:
        arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        task = sqs.start_message_move_task(SourceArn=arn)
        print(f"started move task {task['TaskHandle']} from {dead}")
        return 0
    moved = redrive(sqs, dead, live, args.max, args.dry_run)
    verb = "would move" if args.dry_run else "moved"
    print(f"{verb} {moved.seen if args.dry_run else moved.moved} message(s) from {dead} to {live}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
