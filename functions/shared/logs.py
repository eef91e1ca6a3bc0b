"""The platform's loggers: Powertools loggers whose every line goes through the masking rules first.

Every module logs through ``shop_logger()`` instead of ``Logger()``. Powertools configures one formatter per service,
the first time a logger of that service is created, and later ``Logger()`` calls of the same service reuse it, so a
single plain ``Logger()`` created first would leave the service's lines unmasked: use ``shop_logger`` everywhere.

Each record is masked as a whole before it becomes JSON: values under personal field names (``email``, ``phone``,
``address``, ``recipient``…, see :mod:`functions.shared.masking`) in ``extra=``, appended keys and the record itself;
and email addresses and phone numbers inside the message and exception text.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from functions.shared.masking import mask_personal, mask_text

_FREE_TEXT = ("message", "exception")


class MaskingFormatter(LambdaPowertoolsFormatter):
    """The Powertools JSON formatter, with personal data masked in every record."""

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        masked: dict[str, Any] = mask_personal(log)
        for key in _FREE_TEXT:
            if key in masked:
                masked[key] = mask_text(masked[key])
        return super().serialize(masked)  # type: ignore[arg-type]


def shop_logger(**kwargs: Any) -> Logger:
    """A Powertools ``Logger`` (same arguments) whose lines are masked; ``logger_formatter`` defaults to masking."""
    kwargs.setdefault("logger_formatter", MaskingFormatter())
    return Logger(**kwargs)


def set_correlation_id(value: str | None) -> None:
    """Every logger of this function's service shares one formatter (see above), so one logger sets it for all."""
    _correlation_logger().set_correlation_id(value)


_CORRELATION_LOGGER: Logger | None = None


def _correlation_logger() -> Logger:
    global _CORRELATION_LOGGER  # noqa: PLW0603 - created on first use, not at import
    if _CORRELATION_LOGGER is None:
        _CORRELATION_LOGGER = shop_logger()
    return _CORRELATION_LOGGER
