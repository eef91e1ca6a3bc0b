"""The event pump: what Lambda's event source mappings and EventBridge schedules do in AWS, for the local platform.

* **SQS consumers** (:class:`QueueSource`): receive up to ``batch_size`` messages, invoke the consumer with an SQS
  event of the shape Lambda sends, delete the messages that succeeded and leave those named in
  ``batchItemFailures`` (all of them if the function failed or the response is malformed, as Lambda does). They
  come back after the queue's visibility timeout, and after ``max_receive_count`` receives the queue's redrive
  policy moves them to the dead-letter queue: the same mechanics as in AWS, run by moto.
* **DynamoDB stream consumers** (:class:`StreamSource`): read every shard from TRIM_HORIZON, drop records that do
  not pass the manifest's filter (event name, partition-key prefix), invoke with a stream event and, when the
  function fails or reports failures, retry from the first failed sequence number with a growing back-off, so
  records are delivered in order and none is skipped.
* **Schedules** (:class:`ScheduleSource`): invoke every ``rate_minutes`` (or every ``LOCAL_SCHEDULE_SECONDS``, or
  the period ``LOCAL_SCHEDULES`` gives that schedule) with a scheduled-event payload; the first run is one period
  after start, as with a rate expression.

Queues are polled with short receives and a pause in between rather than with SQS long polling: moto implements
a long poll by waiting inside the request, and the local moto handles one request at a time, so a long poll would
stall every other AWS call of the platform for its duration.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError

from functions.shared.wiring import Consumer, Function, Platform, Schedule, StreamConsumer
from local.resources import Created
from local.workers import Invocation

log = logging.getLogger("local.pump")

Invoke = Callable[[Function, dict[str, Any]], Invocation]
REGION = "us-east-1"
ACCOUNT = "123456789012"
SQS_RECEIVE_MAX = 10
SQS_DELETE_MAX = 10
MAX_BACKOFF_S = 30.0
SHARD_REFRESH_S = 30.0


def _jsonable(value: Any) -> Any:
    """boto3 parses some fields the Lambda event carries as JSON: timestamps as epoch seconds, binary as base64."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    return value


def failed_identifiers(invocation: Invocation, known: list[str]) -> list[str] | None:
    """The identifiers to retry, in ``known`` order, or ``None`` if the whole batch failed.

    Lambda treats a function error, and a ``batchItemFailures`` entry with a missing or unknown identifier, as a
    failure of the whole batch."""
    if not invocation.ok:
        return None
    payload = invocation.payload
    if not isinstance(payload, dict) or not payload.get("batchItemFailures"):
        return []
    failures = payload["batchItemFailures"]
    if not isinstance(failures, list):
        return None
    wanted: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in known:
            return None
        wanted.add(identifier)
    return [k for k in known if k in wanted]


class _Source(threading.Thread):
    def __init__(self, function: Function, invoke: Invoke, stop: threading.Event, poll_s: float) -> None:
        super().__init__(name=f"pump-{function.name}", daemon=True)
        self.function = function
        self._invoke = invoke
        self._stop_event = stop
        self._poll_s = poll_s

    def _call(self, event: dict[str, Any]) -> Invocation:
        invocation = self._invoke(self.function, event)
        if not invocation.ok:
            log.error("%s failed:\n%s", self.function.name, invocation.error_text())
        return invocation

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                busy = self.step()
            except (BotoConnectionError, HTTPClientError) as exc:
                # Refused, reset or timed out: moto went away (during shutdown, or it died and the platform is about
                # to say so and stop). A warning, not a traceback.
                if self._stop_event.is_set():
                    return
                log.warning("%s: cannot reach the local AWS: %s", self.function.name, exc)
                busy = False
            except Exception:
                if self._stop_event.is_set():
                    return
                log.exception("%s: polling failed", self.function.name)
                busy = False
            if not busy:
                self._stop_event.wait(self._poll_s)

    def step(self) -> bool:
        """Do one unit of work; return whether there may be more right away."""
        raise NotImplementedError


class QueueSource(_Source):
    def __init__(
        self,
        consumer: Consumer,
        queue_url: str,
        sqs: Any,
        invoke: Invoke,
        stop: threading.Event,
        poll_s: float,
    ) -> None:
        super().__init__(consumer, invoke, stop, poll_s)
        self.consumer = consumer
        self.queue_url = queue_url
        self._sqs = sqs
        self._arn = ""

    def _receive(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < self.consumer.batch_size:
            got = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(SQS_RECEIVE_MAX, self.consumer.batch_size - len(messages)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not got:
                break
            messages.extend(got)
        return messages

    def step(self) -> bool:
        if not self._arn:
            attributes = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
            # A moto that is going away can answer without the attributes: try again at the next poll.
            self._arn = str((attributes.get("Attributes") or {}).get("QueueArn") or "")
            if not self._arn:
                return False
        messages = self._receive()
        if not messages:
            return False
        event = {"Records": [sqs_record(m, self._arn) for m in messages]}
        ids = [m["MessageId"] for m in messages]
        failed = failed_identifiers(self._call(event), ids)
        if failed is None:
            return True  # every message reappears after the visibility timeout
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), SQS_DELETE_MAX):
            chunk = done[start : start + SQS_DELETE_MAX]
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        return True


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    attributes = {k: str(v) for k, v in (message.get("Attributes") or {}).items()}
    message_attributes: dict[str, Any] = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        entry: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType")}
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            entry["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        message_attributes[name] = entry
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None
    attempts: int = 0
    retry_at: float = 0.0


class StreamSource(_Source):
    def __init__(
        self,
        consumer: StreamConsumer,
        stream_arn: str,
        key_attribute: str,
        streams: Any,
        invoke: Invoke,
        stop: threading.Event,
        poll_s: float,
        clock: Callable[[], float],
    ) -> None:
        super().__init__(consumer, invoke, stop, poll_s)
        self.consumer = consumer
        self.stream_arn = stream_arn
        self.key_attribute = key_attribute
        self._streams = streams
        self._shards: dict[str, _Shard] = {}
        self._refreshed_at: float | None = None
        self._clock = clock

    def matches(self, record: dict[str, Any]) -> bool:
        if record.get("eventName") not in self.consumer.event_names:
            return False
        key = (record.get("dynamodb", {}).get("Keys") or {}).get(self.key_attribute) or {}
        return str(key.get("S", "")).startswith(self.consumer.key_prefix)

    def _refresh(self) -> None:
        now = self._clock()
        if self._refreshed_at is not None and now - self._refreshed_at < SHARD_REFRESH_S:
            return
        self._refreshed_at = now
        description = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id not in self._shards:
                iterator = self._streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
                self._shards[shard_id] = _Shard(shard_id, iterator)

    def step(self) -> bool:
        self._refresh()
        busy = False
        for shard in list(self._shards.values()):
            if shard.iterator is None or self._clock() < shard.retry_at:
                continue
            busy = self._read(shard) or busy
        return busy

    def _read(self, shard: _Shard) -> bool:
        response = self._streams.get_records(ShardIterator=shard.iterator, Limit=self.consumer.batch_size)
        records = response.get("Records", [])
        following = response.get("NextShardIterator")  # None once a closed shard is exhausted
        selected = [r for r in records if self.matches(r)]
        if selected:
            event = {"Records": [self._record(r) for r in selected]}
            sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in selected]
            failed = failed_identifiers(self._call(event), sequence_numbers)
            retry_from = sequence_numbers[0] if failed is None else (failed[0] if failed else None)
            if retry_from is not None:
                shard.attempts += 1
                shard.retry_at = self._clock() + min(self._poll_s * 2 ** (shard.attempts - 1), MAX_BACKOFF_S)
                shard.iterator = self._streams.get_shard_iterator(
                    StreamArn=self.stream_arn,
                    ShardId=shard.shard_id,
                    ShardIteratorType="AT_SEQUENCE_NUMBER",
                    SequenceNumber=retry_from,
                )["ShardIterator"]
                return False
        shard.attempts = 0
        shard.iterator = following
        return bool(records)

    def _record(self, record: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = _jsonable(record)
        out["eventSourceARN"] = self.stream_arn
        out.setdefault("eventSource", "aws:dynamodb")
        out.setdefault("awsRegion", REGION)
        return out


class ScheduleSource(_Source):
    def __init__(self, schedule: Schedule, invoke: Invoke, stop: threading.Event, period_s: float) -> None:
        super().__init__(schedule, invoke, stop, period_s)
        self.schedule = schedule

    def run(self) -> None:
        while not self._stop_event.wait(self._poll_s):
            try:
                self._call(scheduled_event(self.schedule.name))
            except Exception:
                if self._stop_event.is_set():
                    return
                log.exception("%s: scheduled run failed", self.schedule.name)


def scheduled_event(name: str, now: datetime | None = None) -> dict[str, Any]:
    """The payload of a scheduled EventBridge rule (``detail-type`` "Scheduled Event")."""
    moment = now or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}"],
        "detail": {},
    }


class EventPump:
    """One thread per consumer, stream consumer and schedule of the platform."""

    def __init__(
        self,
        platform: Platform,
        created: Created,
        session: Any,
        invoke: Invoke,
        poll_s: float = 0.5,
        schedule_s: float | None = None,
        clock: Callable[[], float] | None = None,
        schedule_periods: Mapping[str, float] | None = None,
    ) -> None:
        """``schedule_s`` replaces every schedule's period; ``schedule_periods`` (schedule name -> seconds) replaces
        the period of the schedules it names, before ``schedule_s``."""
        self._stop = threading.Event()
        self.sources: list[_Source] = []
        sqs = session.client("sqs")
        streams = session.client("dynamodbstreams")
        tables = {t.name: t for t in platform.tables}
        for context in platform.contexts:
            for consumer in context.consumers:
                url = created.queue_urls[consumer.name]
                self.sources.append(QueueSource(consumer, url, sqs, invoke, self._stop, poll_s))
            for reader in context.stream_consumers:
                arn = created.stream_arns[reader.table]
                key = tables[reader.table].partition_key
                self.sources.append(
                    StreamSource(reader, arn, key, streams, invoke, self._stop, poll_s, clock or time.monotonic)
                )
            for schedule in context.schedules:
                period = (schedule_periods or {}).get(schedule.name)
                if period is None:
                    period = schedule_s if schedule_s is not None else schedule.rate_minutes * 60.0
                self.sources.append(ScheduleSource(schedule, invoke, self._stop, period))

    def start(self) -> None:
        for source in self.sources:
            source.start()

    def backlog(self) -> int:
        """Messages waiting in, or being processed from, every consumer queue but the timers' (a timer holds its
        messages back on purpose: the payment window's for fifteen minutes)."""
        waiting = 0
        for source in self.sources:
            if isinstance(source, QueueSource) and not source.consumer.timer:
                attributes = source._sqs.get_queue_attributes(
                    QueueUrl=source.queue_url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
                waiting += int(attributes.get("ApproximateNumberOfMessages", 0))
                waiting += int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
        return waiting

    def settle(self, timeout_s: float, quiet_checks: int = 3, interval_s: float = 0.5) -> bool:
        """Wait until the consumers have worked off what is queued (the queues stay empty ``quiet_checks`` checks in
        a row, so events still on their way from an outbox relay are waited for too); False after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        quiet = 0
        while quiet < quiet_checks:
            quiet = quiet + 1 if self.backlog() == 0 else 0
            if time.monotonic() > deadline:
                return False
            time.sleep(interval_s)
        return True

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        for source in self.sources:
            if source.is_alive():
                source.join(timeout=timeout_s)
