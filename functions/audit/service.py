"""The audit log's service layer: append an entry (once, whatever the deliveries) and list entries by actor,
resource and time range, newest first. There is no way to change or remove an entry here, on purpose."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from functions.audit.events import ActionRecorded
from functions.audit.model import AuditEntry, AuditPage, RangeProblem, expires_at, resolve_range, retention_days
from functions.audit.repository import DynamoAuditRepository, Partition, Position
from functions.shared import cursor
from functions.shared.dynamo import sortable
from functions.shared.errors import BadRequest, Unprocessable
from functions.shared.events import utcnow

HIGH_SUFFIX = "~"  # after every "#<entry_id>": an inclusive upper bound on the sort key


def _invalid_cursor() -> BadRequest:
    return BadRequest("cursor is invalid or belongs to another query", code="INVALID_CURSOR")


def _days_between(low: str, high: str) -> list[str]:
    first, day = date.fromisoformat(low[:10]), date.fromisoformat(high[:10])
    out = []
    while day >= first:
        out.append(day.isoformat())
        day -= timedelta(days=1)
    return out


class AuditLog:
    def __init__(self, repo: DynamoAuditRepository, clock: Callable[[], datetime] = utcnow) -> None:
        self.repo = repo
        self.clock = clock

    def record(self, event: ActionRecorded) -> bool:
        """Append the entry; False when a delivery before this one already did."""
        at = sortable(event.at)
        entry = event.model_dump(mode="json", exclude={"event_id", "occurred_at"})
        entry["at"] = at
        return self.repo.append(entry, at[:10], at, expires_at(event.at, retention_days()))

    def entries(
        self,
        actor: str | None,
        resource: str | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        page: str | None,
    ) -> AuditPage:
        fp = cursor.fingerprint(
            list="audit",
            actor=actor,
            resource=resource,
            start=start.isoformat() if start else None,
            end=end.isoformat() if end else None,
        )
        state = cursor.decode(page, fp)
        if state:
            # The range as the first page resolved it: a default "to" is that page's "now".
            low, high = str(state.get("l", "")), str(state.get("h", ""))
        else:
            try:
                span = resolve_range(start, end, self.clock())
            except RangeProblem as exc:
                raise Unprocessable(str(exc), code=exc.code) from None
            low, high = sortable(span.start), sortable(span.end) + HIGH_SUFFIX
        partitions = self._partitions(actor, resource, low, high)
        position = self._position(state, len(partitions))
        items, following = self.repo.page(partitions, low, high, limit, position)
        next_cursor = None
        if following is not None:
            next_cursor = cursor.encode({"p": following.partition, "k": following.key, "l": low, "h": high}, fp)
        return AuditPage(items=[AuditEntry.model_validate(i) for i in items], next_cursor=next_cursor)

    @staticmethod
    def _partitions(actor: str | None, resource: str | None, low: str, high: str) -> list[Partition]:
        if resource is not None:
            return [Partition("resource", resource, "by_resource", actor_filter=actor)]
        if actor is not None:
            return [Partition("actor", actor, "by_actor")]
        try:
            return [Partition("pk", f"DAY#{day}") for day in _days_between(low, high)]
        except ValueError:
            raise _invalid_cursor() from None

    @staticmethod
    def _position(state: dict[str, Any] | None, partitions: int) -> Position | None:
        if not state:
            return None
        index, key = state.get("p"), state.get("k")
        if not isinstance(index, int) or not 0 <= index < partitions:
            raise _invalid_cursor()
        if key is not None and not (isinstance(key, dict) and all(isinstance(v, str) for v in key.values())):
            raise _invalid_cursor()
        return Position(index, key)


def service() -> AuditLog:
    from functions.shared.aws import client
    from functions.shared.settings import table_name

    return AuditLog(DynamoAuditRepository(client("dynamodb"), table_name("audit")))
