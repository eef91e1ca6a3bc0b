"""The audit record of one back-office or partner call that changes something (``Route.audited``), published by the
call's own function.

:func:`record_call` runs in :func:`functions.shared.http.entrypoint` after the response is known, for refused calls
too (401, 403, 413, 415 and every 4xx/5xx of the handler). It builds the record and puts it on the shared bus as
ONE event, ``source = shop.audit``, ``detail-type = ActionRecorded``; the audit context's ``AuditRecorder`` reads
it from its own SQS queue (with a dead-letter queue) and appends it to the audit table (docs/audit.md).

It never raises into the business call: the change is already made and the response already decided. Entries that
EventBridge rejects (``FailedEntryCount``) and failed calls are tried again a couple of times; a record that still
cannot be delivered is written whole (masked) to the function's log as an ERROR line ``audit record not delivered``
with the record under ``audit_record``, so that an alarm fires and the record can be recovered from the log.

What a record says about the request, and what it does not:

* ``summary.body`` is the request body as compact JSON text: values under secret-like keys (passwords, secrets,
  tokens, API keys, signatures…) are removed, personal data is masked (:func:`functions.shared.masking.mask_personal`,
  which also masks a product's ``name``: over-masking is accepted, as in the logs), and the text is cut to
  :data:`SUMMARY_MAX_BYTES`. A body that is not JSON (a refused form post) is never recorded, only its size.
* ``resource`` is ``<collection>/<id>``: the first path segment after ``/admin`` or ``/partner/v1`` and the value
  of the first path parameter; a create (no path parameter) takes the id from the response (``id``, then
  ``<singular collection>_id``, then the only ``*_id`` field, then ``code`` or ``app_key``), else the collection.

Standard library and the kernel only (no pydantic): the record is a plain dict with the fields of
``functions.audit.events.ActionRecorded``, which a unit test holds it to.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from functions.shared.headers import header_value
from functions.shared.ids import new_id
from functions.shared.logs import shop_logger
from functions.shared.masking import mask_personal

if TYPE_CHECKING:
    from functions.shared.auth import AuthContext
    from functions.shared.wiring import Route

logger = shop_logger()

SOURCE = "shop.audit"
DETAIL_TYPE = "ActionRecorded"
SUMMARY_MAX_BYTES = 2048
MAX_PARSED_BODY_BYTES = 256 * 1024  # what the HTTP layer accepts; a larger (refused) body is only counted
MAX_VALUE_CHARS = 256  # path parameter values, the user agent
MAX_PATH_CHARS = 1024
PUBLISH_ATTEMPTS = 3
# Retries only while the call is young: the record must not hold the response up for long (the shared client has
# its own timeouts and retries under each attempt).
RETRY_BUDGET_S = 2.0

_PREFIXES = ("/partner/v1/", "/admin/")
# Removed from the summary by key name (normalised: lower case, no ``_``/``-``/``.``/spaces), before masking.
_SECRET_WORDS = (
    "password", "passwd", "passphrase", "secret", "token", "apikey", "accesskey", "privatekey", "credential",
    "authorization", "cookie", "signature",
)  # fmt: skip
_SECRET_KEYS = frozenset({"otp", "pin", "cvv", "cvc", "cardnumber", "pan"})
_RESOURCE_ID_FALLBACKS = ("code", "app_key")


def _norm(key: object) -> str:
    return re.sub(r"[\s_.-]+", "", str(key)).casefold()


def is_secret_key(key: object) -> bool:
    k = _norm(key)
    return k in _SECRET_KEYS or any(word in k for word in _SECRET_WORDS)


def drop_secrets(data: Any) -> Any:
    """A copy of ``data`` without any value under a secret-like key, at any depth."""
    if isinstance(data, dict):
        return {k: drop_secrets(v) for k, v in data.items() if not is_secret_key(k)}
    if isinstance(data, list):
        return [drop_secrets(v) for v in data]
    return data


def _clip(text: str | None, limit: int = MAX_VALUE_CHARS) -> str | None:
    return None if text is None else str(text)[:limit]


def _header(event: dict[str, Any], name: str) -> str | None:
    return header_value(event.get("headers"), name)


def _json(raw: Any, is_base64: bool = False, limit: int = MAX_PARSED_BODY_BYTES) -> tuple[bool, Any]:
    """(parsed?, value) of a JSON text; never raises."""
    if not isinstance(raw, str) or not raw or is_base64 or len(raw) > limit:
        return False, None
    try:
        return True, json.loads(raw)
    except ValueError:
        return False, None


def summarise(event: dict[str, Any]) -> dict[str, Any]:
    """The request's path parameters and its body as masked JSON text without secrets, cut to 2 KB."""
    params = {str(k): _clip(str(v)) for k, v in (event.get("pathParameters") or {}).items()}
    raw = event.get("body")
    body: str | None = None
    truncated = False
    if raw:
        parsed, data = _json(raw, bool(event.get("isBase64Encoded")))
        if parsed:
            body = json.dumps(mask_personal(drop_secrets(data)), separators=(",", ":"), ensure_ascii=False)
        else:
            body = json.dumps({"not_recorded": f"{len(raw)} characters, not JSON"})
        data_bytes = body.encode("utf-8")
        if len(data_bytes) > SUMMARY_MAX_BYTES:
            body = data_bytes[:SUMMARY_MAX_BYTES].decode("utf-8", errors="ignore")
            truncated = True
    return {"path_parameters": mask_personal(params), "body": body, "truncated": truncated}


def _singular(collection: str) -> str:
    if collection.endswith("ies"):
        return collection[:-3] + "y"
    return collection[:-1] if collection.endswith("s") else collection


def _id_in(body: Any, collection: str) -> str | None:
    if not isinstance(body, dict):
        return None
    ids = [k for k, v in body.items() if isinstance(k, str) and k.endswith("_id") and isinstance(v, str | int)]
    own = f"{_singular(collection)}_id"
    for key in ("id", own, *(ids if len(ids) == 1 else ()), *_RESOURCE_ID_FALLBACKS):
        value = body.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return _clip(str(value))
    return None


def resource_of(route: Route, event: dict[str, Any], response: dict[str, Any]) -> str:
    """``<collection>/<id>`` (see the module docstring), or the collection alone."""
    template = route.path
    rest = next((template[len(p) :] for p in _PREFIXES if template.startswith(p)), template.lstrip("/"))
    collection = rest.split("/", 1)[0] or "-"
    names = re.findall(r"\{(\w+)\}", template)
    params = event.get("pathParameters") or {}
    if names and params.get(names[0]):
        return f"{collection}/{_clip(str(params[names[0]]))}"
    status = int(response.get("statusCode") or 0)
    if 200 <= status < 300:
        parsed, body = _json(response.get("body"), bool(response.get("isBase64Encoded")))
        found = _id_in(body, collection) if parsed else None
        if found:
            return f"{collection}/{found}"
    return collection


def outcome_of(status: int) -> str:
    if status >= 500:
        return "failed"
    if status >= 400:
        return "refused"
    return "succeeded"


def _error_code(response: dict[str, Any], status: int) -> str | None:
    if status < 400:
        return None
    parsed, body = _json(response.get("body"), bool(response.get("isBase64Encoded")))
    error = body.get("error") if parsed and isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return str(code) if code else None


def iso(moment: datetime) -> str:
    """One fixed UTC format (microseconds, ``Z``), so string order is time order."""
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}" + utc.strftime("-%m-%dT%H:%M:%S.%fZ")


def build_record(
    route: Route,
    event: dict[str, Any],
    auth: AuthContext,
    response: dict[str, Any],
    now: datetime | None = None,
) -> dict[str, Any]:
    """The audit record of one call (the detail of ActionRecorded)."""
    moment = now or datetime.now(UTC)
    entry_id = new_id(int(moment.timestamp() * 1000))
    at = iso(moment)
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    status = int(response.get("statusCode") or 0)
    return {
        "event_id": entry_id,
        "occurred_at": at,
        "entry_id": entry_id,
        "at": at,
        "actor": auth.actor,
        "actor_email": None if auth.is_app else auth.email,
        "app_name": auth.app_name if auth.is_app else None,
        "roles": ["partner"] if auth.is_app else sorted(auth.roles),
        "action": route.name,
        "method": route.method.upper(),
        "path": _clip(str(event.get("path") or route.path), MAX_PATH_CHARS),
        "resource": resource_of(route, event, response),
        "summary": summarise(event),
        "request_id": _clip(context.get("requestId")),
        "source_ip": _clip(identity.get("sourceIp")),
        "user_agent": _clip(identity.get("userAgent") or _header(event, "user-agent")),
        "result": {"status": status, "error_code": _error_code(response, status)},
        "outcome": outcome_of(status),
    }


def publish(record: dict[str, Any]) -> bool:
    """Put the record on the bus; retry rejected entries and failed calls while young. False, after logging the
    whole record, when it could not be delivered."""
    from functions.shared.aws import client
    from functions.shared.settings import env

    started = time.monotonic()
    problem, attempts = "not attempted", 0
    for attempt in range(PUBLISH_ATTEMPTS):
        if attempt:
            if time.monotonic() - started > RETRY_BUDGET_S:
                break
            time.sleep(0.05 * attempt)
        attempts += 1
        try:
            entry = {
                "EventBusName": env("EVENT_BUS_NAME"),
                "Source": SOURCE,
                "DetailType": DETAIL_TYPE,
                "Detail": json.dumps(record, separators=(",", ":"), ensure_ascii=False),
            }
            result = client("events").put_events(Entries=[entry])
        except Exception as exc:  # any failure of the call: try again, then log the record
            problem = f"{type(exc).__name__}: {exc}"
            continue
        if not result.get("FailedEntryCount"):
            return True
        entries = result.get("Entries") or [{}]
        problem = str(entries[0].get("ErrorCode") or "rejected")
    logger.error(
        "audit record not delivered",
        extra={"audit_record": record, "audit_problem": problem[:500], "attempts": attempts},
    )
    return False


def record_call(route: Route, event: dict[str, Any], auth: AuthContext, response: dict[str, Any]) -> None:
    """Record the call in the audit log. Never raises: the business call's outcome is already decided."""
    try:
        publish(build_record(route, event, auth, response))
    except Exception:  # a bug in building the record must not turn a done change into a 500
        logger.exception(
            "audit record not built",
            extra={"action": route.name, "request_id": (event.get("requestContext") or {}).get("requestId")},
        )
