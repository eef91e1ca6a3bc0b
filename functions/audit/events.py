"""The event the audit log is fed by (source ``shop.audit``).

Every audited call's own function publishes one ``ActionRecorded`` (:mod:`functions.shared.audit` builds it as a
plain dict, without pydantic; a unit test holds that dict to this model). Its ``event_id`` is the entry's
``entry_id`` and ``occurred_at`` its ``at``: a redelivered event is the same entry.

Who listens: the audit context's ``AuditRecorder``, which appends it to the audit table.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from functions.shared.events import DomainEvent

Outcome = Literal["succeeded", "refused", "failed"]


class CallResult(BaseModel):
    status: int = Field(description="The HTTP status the caller got")
    error_code: str | None = Field(default=None, description="The error body's code (DESIGN.md §4), for a 4xx/5xx")


class Summary(BaseModel):
    path_parameters: dict[str, str | None] = Field(default_factory=dict)
    body: str | None = Field(
        default=None,
        description="The request body as JSON text: secret-like keys removed, personal data masked, at most 2 KB",
    )
    truncated: bool = Field(default=False, description="The body text was cut to 2 KB")


class AuditFacts(BaseModel):
    """What the audit log knows of one call."""

    entry_id: str = Field(description="Time-sortable, unique per call")
    at: datetime = Field(description="When the call's response was known (UTC)")
    actor: str = Field(description="user:<sub>, app:<app key> or anonymous (a refused call without credentials)")
    actor_email: str | None = Field(default=None, description="The user's email (users only)")
    app_name: str | None = Field(default=None, description="The partner app's name (apps only)")
    roles: list[str] = Field(description="The user's groups, sorted; ['partner'] for an app")
    action: str = Field(description="The operation (the route's function name), e.g. CreateProduct")
    method: str
    path: str = Field(description="The concrete path that was called")
    resource: str = Field(description="<collection>/<id>, e.g. products/prd_01J..., or the collection alone")
    summary: Summary
    request_id: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    result: CallResult
    outcome: Outcome = Field(description="succeeded (2xx), refused (4xx) or failed (5xx)")


class ActionRecorded(DomainEvent, AuditFacts):
    """A back-office or partner call that changes something was made (whatever its result)."""

    SOURCE: ClassVar[str] = "shop.audit"
