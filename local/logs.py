"""Log subscriptions on the local platform: what a CloudWatch Logs subscription filter does in AWS.

The workers return each invocation's log lines (local.workers). :meth:`LogDelivery.offer` only queues the lines of
functions that some ``LogSubscription`` reads, so the invocation that wrote them (an HTTP request) never waits on
their delivery; a background thread keeps the lines that are JSON objects with one of the subscription's keys (what
the CDK filter pattern ``{ ($.key EXISTS) || ... }`` keeps), batches what has queued up, and invokes the
subscription's function with the event CloudWatch Logs sends (``awslogs.data``: base64 of gzipped JSON).
Like an asynchronous Lambda invocation, a failed delivery is tried twice more (with the same event), then dropped
with an error logged. Log event ids are unique across deliveries, as CloudWatch Logs' are: forwarders derive event
ids from them (functions.shared.forwarding).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from functions.shared.wiring import Function, LogSubscription, Platform
from local.workers import Invocation

log = logging.getLogger("local.logs")

Invoke = Callable[[Function, dict[str, Any]], Invocation]
ACCOUNT = "123456789012"
ATTEMPTS = 3  # Lambda's asynchronous invocations: the first try and two retries
MAX_BATCH = 1000
STOP_WAIT_S = 10.0


def matches(line: str, keys: Sequence[str]) -> bool:
    if not line.startswith("{"):
        return False
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, dict) and any(k in record for k in keys)


def log_group(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def subscription_event(
    subscription: LogSubscription, source: str, lines: Sequence[tuple[int, str]], stream: str, first_id: int = 0
) -> dict[str, Any]:
    """The event CloudWatch Logs gives a subscription's Lambda for ``lines`` (``(epoch ms, message)``); the log
    events' ids are numbered from ``first_id``."""
    data = {
        "messageType": "DATA_MESSAGE",
        "owner": ACCOUNT,
        "logGroup": log_group(source),
        "logStream": stream,
        "subscriptionFilters": [f"{subscription.name}-{source}"],  # the CDK filter's name
        "logEvents": [
            {"id": f"{ms:020d}{i:016d}", "timestamp": ms, "message": message}
            for i, (ms, message) in enumerate(lines, start=first_id)
        ],
    }
    packed = gzip.compress(json.dumps(data, ensure_ascii=False).encode("utf-8"))
    return {"awslogs": {"data": base64.b64encode(packed).decode("ascii")}}


class Captured:
    """The lines some loggers wrote in this process (see :func:`captured`)."""

    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    def take(self, keys: Sequence[str] = ()) -> list[str]:
        """The lines written since the last take (only those ``keys`` would deliver, when given)."""
        written = self._stream.getvalue()
        self._stream.seek(0)
        self._stream.truncate()
        return [line for line in written.splitlines() if not keys or matches(line, keys)]


@contextmanager
def captured(*loggers: Logger) -> Iterator[Captured]:
    """Collect what ``loggers`` write while the block runs instead of printing it, as Lambda collects a function's
    output for its log group: in-process tests and benchmarks then deliver the lines with :func:`subscription_event`."""
    handlers: list[logging.StreamHandler[Any]] = []
    for logger in loggers:
        handler = logger.registered_handler
        if not isinstance(handler, logging.StreamHandler):
            raise TypeError(f"{logger.service} does not log to a stream")
        handlers.append(handler)
    stream = io.StringIO()
    previous = [handler.setStream(stream) for handler in handlers]
    try:
        yield Captured(stream)
    finally:
        for handler, before in reversed(list(zip(handlers, previous, strict=True))):
            if before is not None:
                handler.setStream(before)


class LogDelivery:
    def __init__(self, platform: Platform, invoke: Invoke) -> None:
        self._invoke = invoke
        self._by_source: dict[str, list[LogSubscription]] = {}
        for context in platform.contexts:
            for subscription in context.log_subscriptions:
                for source in subscription.sources:
                    self._by_source.setdefault(source, []).append(subscription)
        self._queue: queue.Queue[tuple[str, int, list[str]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="log-delivery", daemon=True)
        # One stream per source and platform run, as a long-lived execution environment has.
        day = datetime.now(UTC).strftime("%Y/%m/%d")
        self._stream = f"{day}/[$LATEST]{uuid.uuid4().hex}"
        self._next_id = 0  # every log event this platform run delivers gets its own id (only _run touches it)

    @property
    def sources(self) -> frozenset[str]:
        return frozenset(self._by_source)

    def start(self) -> None:
        if self._by_source:
            self._thread.start()

    def offer(self, function: Function, lines: Sequence[str]) -> None:
        """Queue ``function``'s log lines for its subscriptions, if it has any. Returns at once."""
        if lines and function.name in self._by_source:
            self._queue.put((function.name, int(time.time() * 1000), list(lines)))

    def stop(self) -> None:
        """Deliver what is already queued (for a while), then stop."""
        if not self._thread.is_alive():
            return
        self._queue.put(None)
        self._thread.join(STOP_WAIT_S)
        if self._thread.is_alive():
            log.warning("log delivery did not finish within %.0f s; undelivered lines are dropped", STOP_WAIT_S)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stopping = False
            # Whatever queued up meanwhile goes in the same delivery, as CloudWatch batches a log group's lines.
            while len(batch) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
            self._deliver(batch)
            if stopping:
                return

    def _deliver(self, batch: list[tuple[str, int, list[str]]]) -> None:
        for source in dict.fromkeys(name for name, _, _ in batch):
            for subscription in self._by_source[source]:
                lines = [
                    (ms, line)
                    for name, ms, written in batch
                    if name == source
                    for line in written
                    if matches(line, subscription.keys)
                ]
                if lines:
                    first, self._next_id = self._next_id, self._next_id + len(lines)
                    self._send(subscription, subscription_event(subscription, source, lines, self._stream, first))

    def _send(self, subscription: LogSubscription, event: dict[str, Any]) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                invocation = self._invoke(subscription, event)
            except Exception:  # the platform is stopping: nothing left to deliver to
                log.exception("log delivery to %s failed", subscription.name)
                return
            if invocation.ok:
                return
            log.warning("%s failed (attempt %d): %s", subscription.name, attempt, invocation.error_text())
        log.error("%s failed %d times; its log batch is dropped", subscription.name, ATTEMPTS)
