"""Per-stage settings. A stage is chosen with ``cdk synth -c stage=dev|prod``; anything else is refused early.

Only what really differs between stages lives here; everything else is the same code path for dev and prod, so
what is tested in dev is what runs in prod.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

DEFAULT_STAGE = "dev"
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


@dataclass(frozen=True)
class PromotionWindow:
    """A planned promotion (a flash sale, Double 12): every hot function's provisioned concurrency is raised to
    ``provisioned`` ``lead`` before it starts and lowered back when it ends (scheduled scaling)."""

    name: str  # letters and digits: it names the scheduled actions
    starts_at: datetime  # timezone-aware
    ends_at: datetime
    provisioned: int
    lead: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError(f"promotion {self.name}: give times with a timezone")
        if not self.name.isalnum():
            raise ValueError(f"promotion {self.name!r}: the name must be letters and digits")
        if self.ends_at <= self.starts_at:
            raise ValueError(f"promotion {self.name}: it must end after it starts")

    @property
    def scale_up_at(self) -> datetime:
        return (self.starts_at - self.lead).astimezone(UTC)


@dataclass(frozen=True)
class HotPathScaling:
    """Provisioned concurrency for the functions the manifest marks ``hot`` (product page, listing, search, cart,
    checkout, payment callbacks, the partner authorizer), on each one's ``live`` alias, which the API calls: a floor
    that is always warm, target tracking on provisioned-concurrency utilisation up to ``maximum``, and the planned
    promotions. The numbers come from docs/capacity.md."""

    provisioned: int
    maximum: int
    target_utilization: float = 0.7
    promotions: tuple[PromotionWindow, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.provisioned <= self.maximum:
            raise ValueError("hot path scaling needs 1 <= provisioned <= maximum")
        if not 0.1 <= self.target_utilization <= 0.9:
            raise ValueError("target utilisation is a fraction between 0.1 and 0.9")


@dataclass(frozen=True)
class RouteThrottle:
    """A per-route API Gateway throttle below the stage's (requests per second, burst), sized in docs/capacity.md."""

    rate: float
    burst: int


@dataclass(frozen=True)
class WafConfig:
    """An AWS WAF web ACL on the API stage: a rate-based rule per client IP (requests per 5 minutes, WAF's window)
    plus AWS's common and known-bad-inputs rule groups. Storefront bots and credential stuffing stop at the edge of
    the API, before they cost a Lambda invocation."""

    requests_per_5_minutes_per_ip: int = 3000
    # Sign-up and log-in get their own, tighter limit (credential stuffing).
    auth_requests_per_5_minutes_per_ip: int = 300

    def __post_init__(self) -> None:
        if min(self.requests_per_5_minutes_per_ip, self.auth_requests_per_5_minutes_per_ip) < 100:
            raise ValueError("WAF rate-based rules start at 100 requests per 5 minutes")


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
    # None: no provisioned concurrency (dev: cold starts are fine, idle capacity is not).
    hot_path: HotPathScaling | None = None
    # Route name -> its own throttle (e.g. the checkout, whose DynamoDB hot keys cap what it can take).
    route_throttles: dict[str, RouteThrottle] = field(default_factory=dict)
    # None: no WAF (dev). Costs a web ACL, its rules and a charge per million requests.
    waf: WafConfig | None = None

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
            "SHOP_TIMEZONE": "Asia/Shanghai",
            "RETURN_WINDOW_DAYS": "7",
            "AUDIT_RETENTION_DAYS": "365",
            "PARTNER_SECRET_GRACE_HOURS": "24",
        },
    ),
    "prod": StageConfig(
        name="prod",
        # docs/capacity.md: under the account's 10,000 RPS / 5,000 burst, with room for a second stage.
        api_rate_limit=3000,
        api_burst_limit=5000,
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
            "SHOP_TIMEZONE": "Asia/Shanghai",
            "RETURN_WINDOW_DAYS": "7",
            "AUDIT_RETENTION_DAYS": "365",
            "PARTNER_SECRET_GRACE_HOURS": "24",
        },
        hot_path=HotPathScaling(
            provisioned=2,
            maximum=100,
            target_utilization=0.7,
            promotions=(
                PromotionWindow(
                    name="Double12",
                    starts_at=datetime(2026, 12, 12, 0, 0, tzinfo=SHANGHAI),
                    ends_at=datetime(2026, 12, 12, 2, 0, tzinfo=SHANGHAI),
                    provisioned=50,
                ),
            ),
        ),
        waf=WafConfig(),
        route_throttles={
            # Cognito's own quotas (UserAuthentication 120 RPS, UserCreation 50 RPS per account by default).
            "LogIn": RouteThrottle(rate=100, burst=200),
            "RefreshTokens": RouteThrottle(rate=100, burst=200),
            "SignUp": RouteThrottle(rate=40, burst=80),
            # One order is a transaction over its SKUs' stock items: about 500 a second on one unsharded SKU.
            "Checkout": RouteThrottle(rate=500, burst=1000),
            "CreatePayment": RouteThrottle(rate=500, burst=1000),
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
