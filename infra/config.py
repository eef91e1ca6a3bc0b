"""Per-stage settings. A stage is chosen with ``cdk synth -c stage=dev|prod``; anything else is refused early.

Only what really differs between stages lives here; everything else is the same code path for dev and prod, so
what is tested in dev is what runs in prod.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

DEFAULT_STAGE = "dev"


@dataclass(frozen=True)
class StageConfig:
    name: str
    # API Gateway stage throttling, applied to every method (requests per second, burst bucket size).
    api_rate_limit: float
    api_burst_limit: int
    log_retention: logs.RetentionDays
    log_level: str
    # Data protection: prod keeps its data through mistakes (PITR, deletion protection, RETAIN); dev is disposable.
    point_in_time_recovery: bool
    deletion_protection: bool
    removal_policy: RemovalPolicy
    bus_archive_retention_days: int
    # Shop settings read by the functions (each context's manifest declares which it reads; defaults are in code).
    shop_settings: dict[str, str] = field(default_factory=dict)

    @property
    def is_disposable(self) -> bool:
        """Data may be destroyed with the stack (dev): buckets empty themselves on delete."""
        return self.removal_policy == RemovalPolicy.DESTROY


STAGES: dict[str, StageConfig] = {
    "dev": StageConfig(
        name="dev",
        api_rate_limit=50,
        api_burst_limit=100,
        log_retention=logs.RetentionDays.ONE_WEEK,
        log_level="DEBUG",
        point_in_time_recovery=False,
        deletion_protection=False,
        removal_policy=RemovalPolicy.DESTROY,
        bus_archive_retention_days=7,
        shop_settings={
            "PAYMENT_WINDOW_SECONDS": "900",
            "SHIPPING_FEE_AMOUNT": "1000",
            "FREE_SHIPPING_FROM_AMOUNT": "9900",
            "SHOP_CURRENCY": "CNY",
            "RETURN_WINDOW_DAYS": "7",
            "AUDIT_RETENTION_DAYS": "365",
            "PARTNER_SECRET_GRACE_HOURS": "24",
        },
    ),
    "prod": StageConfig(
        name="prod",
        api_rate_limit=500,
        api_burst_limit=1000,
        log_retention=logs.RetentionDays.THREE_MONTHS,
        log_level="INFO",
        point_in_time_recovery=True,
        deletion_protection=True,
        removal_policy=RemovalPolicy.RETAIN,
        bus_archive_retention_days=90,
        shop_settings={
            "PAYMENT_WINDOW_SECONDS": "900",
            "SHIPPING_FEE_AMOUNT": "1000",
            "FREE_SHIPPING_FROM_AMOUNT": "9900",
            "SHOP_CURRENCY": "CNY",
            "RETURN_WINDOW_DAYS": "7",
            "AUDIT_RETENTION_DAYS": "365",
            "PARTNER_SECRET_GRACE_HOURS": "24",
        },
    ),
}


class UnknownStageError(ValueError):
    pass


def stage_config(name: str | None) -> StageConfig:
    key = (name or DEFAULT_STAGE).strip()
    try:
        return STAGES[key]
    except KeyError:
        raise UnknownStageError(f"unknown stage {key!r}: pass -c stage=<one of {', '.join(sorted(STAGES))}>") from None
