"""The audit log's API shapes and rules, plain pydantic without I/O."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel

from functions.audit.events import AuditFacts

DEFAULT_RANGE_DAYS = 7
MAX_RANGE_DAYS = 92
DEFAULT_RETENTION_DAYS = 365
EARLIEST_YEAR, LATEST_YEAR = 2000, 2999


class AuditEntry(AuditFacts):
    """One recorded call, as GET /admin/audit lists it."""


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None = None


def retention_days() -> int:
    """``AUDIT_RETENTION_DAYS`` (per stage, infra/config.py): how long an entry is kept before DynamoDB's TTL
    removes it. At least a day."""
    raw = os.environ.get("AUDIT_RETENTION_DAYS", "")
    days = int(raw) if raw.strip() else DEFAULT_RETENTION_DAYS
    if days < 1:
        raise ValueError(f"AUDIT_RETENTION_DAYS must be at least 1, not {days}")
    return days


def expires_at(at: datetime, days: int) -> int:
    """The TTL (epoch seconds) of an entry made at ``at``: the same for every delivery of the same entry."""
    return int((at + timedelta(days=days)).timestamp())


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime


class RangeProblem(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def resolve_range(start: datetime | None, end: datetime | None, now: datetime) -> TimeRange:
    """``from``/``to`` as asked, defaults filled: to = now, from = to - 7 days. Raises :class:`RangeProblem` (to
    before from, more than 92 days, no time zone, an absurd year)."""
    for name, moment in (("from", start), ("to", end)):
        if moment is not None and moment.tzinfo is None:
            raise RangeProblem("VALIDATION_FAILED", f"{name} needs a time zone (ISO-8601 with Z or an offset)")
        if moment is not None and not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            raise RangeProblem("VALIDATION_FAILED", f"{name} must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    end = end or now
    start = start or end - timedelta(days=DEFAULT_RANGE_DAYS)
    if end < start:
        raise RangeProblem("INVALID_DATE_RANGE", "to is before from")
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise RangeProblem("RANGE_TOO_LONG", f"ask for at most {MAX_RANGE_DAYS} days at a time")
    return TimeRange(start, end)
