"""The correlation id that follows one shopper action from the HTTP request through every event it causes to the
last consumer (issue 8, observability).

An HTTP function takes its API Gateway request id (``functions.shared.http.entrypoint``); every domain event created
while it runs carries it (``DomainEvent.correlation_id``); a consumer takes it from the event it is handling
(``functions.shared.events.detail_of``), so the events it creates in turn carry it too, and every log line has it as
``correlation_id``. Search one id in CloudWatch Logs Insights across all log groups to see the whole story.
"""

from __future__ import annotations

from contextvars import ContextVar

_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current() -> str | None:
    return _current.get()


def use(correlation_id: str | None) -> None:
    """Make ``correlation_id`` the current one (None clears it), and put it on every log line from now on."""
    _current.set(correlation_id)
    from functions.shared.logs import set_correlation_id

    set_correlation_id(correlation_id)
