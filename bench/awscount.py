"""Count every AWS request a handler makes, with botocore event hooks on boto3's default session.

:meth:`Recorder.install` must run before any client exists: a client copies its session's event hooks when it is
created. The hooks

* ``provide-client-params.dynamodb``: ask for ``ReturnConsumedCapacity=TOTAL`` on every DynamoDB API that takes it
  (unless the code asked itself), and keep the request parameters for the capacity estimate;
* ``before-call``: one record per API call (a retried call is one record with ``retries`` > 0), under the current
  phase (``init`` while importing, then whatever the caller sets);
* ``after-call`` / ``after-call-error``: status, error code, retries, the capacity moto reported, and the estimate
  of :mod:`bench.capacity`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import boto3

from bench.capacity import IndexKeys, estimate

SHORT = {"dynamodb": "ddb", "secretsmanager": "secrets", "cognito-idp": "cognito", "events": "events", "s3": "s3"}


@dataclass
class CallRecord:
    phase: str
    service: str
    operation: str
    status: int | None = None
    error: str | None = None
    retries: int = 0
    capacity_requested: bool = False
    reported_cu: float | None = None  # what moto returned in ConsumedCapacity (None: nothing returned)
    est_rcu: float | None = None
    est_wcu: float | None = None
    est_approximate: bool = False

    @property
    def api(self) -> str:
        return f"{self.service}:{self.operation}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Recorder:
    def __init__(self, index_keys: IndexKeys | None = None) -> None:
        self.phase = "init"
        self.calls: list[CallRecord] = []
        self.index_keys = index_keys or {}

    @classmethod
    def install(cls, index_keys: IndexKeys | None = None) -> Recorder:
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
        assert session is not None
        recorder = cls(index_keys)
        events = session.events
        events.register("provide-client-params.dynamodb", recorder._provide_params)
        events.register("before-call", recorder._before_call)
        events.register("after-call", recorder._after_call)
        events.register("after-call-error", recorder._after_error)
        return recorder

    def take(self, phase: str) -> list[CallRecord]:
        """The calls recorded so far; from now on calls are recorded under ``phase``."""
        taken, self.calls, self.phase = self.calls, [], phase
        return taken

    # --- hooks ---------------------------------------------------------------------------------------------------

    def _provide_params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members and "ReturnConsumedCapacity" not in params:
            params["ReturnConsumedCapacity"] = "TOTAL"
            context["bench_capacity_requested"] = True
        context["bench_params"] = params

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        record = CallRecord(self.phase, model.service_model.service_name, model.name)
        record.capacity_requested = bool(context.get("bench_capacity_requested"))
        context["bench_record"] = record
        self.calls.append(record)

    def _after_call(self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        record: CallRecord | None = context.get("bench_record")
        if record is None:
            return
        record.status = int(http_response.status_code)
        record.error = parsed.get("Error", {}).get("Code") if record.status >= 300 else None
        record.retries = int(parsed.get("ResponseMetadata", {}).get("RetryAttempts", 0))
        if record.service != "dynamodb" or record.error:
            return
        consumed = parsed.get("ConsumedCapacity")
        if isinstance(consumed, dict):
            consumed = [consumed]
        if consumed:
            record.reported_cu = float(sum(float(c.get("CapacityUnits", 0)) for c in consumed))
        found = estimate(record.operation, context.get("bench_params") or {}, parsed, self.index_keys)
        if found is not None:
            record.est_rcu, record.est_wcu, record.est_approximate = found.rcu, found.wcu, found.approximate

    def _after_error(self, exception: Exception, context: dict[str, Any], **_: Any) -> None:
        record: CallRecord | None = context.get("bench_record")
        if record is not None:
            record.error = type(exception).__name__
