"""Usage plans as API Gateway enforces them for the partner routes: each app's token bucket (rate, burst) and daily
quota, read from the very usage plans the partners context creates (in moto's API Gateway locally, as in AWS).

A request whose authorizer named a usage identifier key (the app's API key value) takes one token from that key's
bucket and one unit of its day's quota. An empty bucket is ``429 THROTTLED`` with ``Retry-After`` the seconds until
a token is back; a spent quota is ``429 QUOTA_EXCEEDED`` with the seconds until midnight UTC, when API Gateway's
``DAY`` quotas reset. A key with no plan, or a disabled key, is ``403`` as in AWS.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

PLAN_CACHE_S = 5.0  # a changed or new plan counts within seconds, as API Gateway's own propagation


@dataclass
class Plan:
    rate: float
    burst: int
    quota: int | None
    enabled: bool = True


@dataclass
class _Bucket:
    tokens: float
    at: float
    day: str = ""
    used: int = 0


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    status: int = 200
    code: str = ""
    message: str = ""
    retry_after_s: int = 0


@dataclass
class UsagePlans:
    """Looks plans up through an API Gateway client (moto's) and keeps one bucket per key."""

    client: Any
    api_id: str
    stage: str
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], datetime] = lambda: datetime.now(UTC)
    _plans: dict[str, tuple[float, Plan | None]] = field(default_factory=dict)
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self, usage_key: str) -> Plan | None:
        now = self.clock()
        cached = self._plans.get(usage_key)
        if cached and now - cached[0] < PLAN_CACHE_S:
            return cached[1]
        found = self._lookup(usage_key)
        self._plans[usage_key] = (now, found)
        return found

    def _lookup(self, usage_key: str) -> Plan | None:
        keys = self.client.get_api_keys(includeValues=True, limit=500).get("items", [])
        match = next((k for k in keys if k.get("value") == usage_key), None)
        if match is None:
            return None
        for plan in self.client.get_usage_plans(keyId=match["id"]).get("items", []):
            stages = plan.get("apiStages") or []
            if not any(s.get("apiId") == self.api_id and s.get("stage") == self.stage for s in stages):
                continue
            throttle = plan.get("throttle") or {}
            quota = plan.get("quota") or {}
            return Plan(
                rate=float(throttle.get("rateLimit", 0) or 0),
                burst=int(throttle.get("burstLimit", 0) or 0),
                quota=int(quota["limit"]) if quota.get("limit") else None,
                enabled=bool(match.get("enabled", True)),
            )
        return None

    def take(self, usage_key: str) -> Verdict:
        plan = self.plan(usage_key)
        if plan is None or not plan.enabled:
            return Verdict(False, 403, "FORBIDDEN", "not allowed")
        now, today = self.clock(), self.wall()
        day = today.strftime("%Y-%m-%d")
        with self._lock:
            bucket = self._buckets.setdefault(usage_key, _Bucket(tokens=float(plan.burst), at=now, day=day))
            if bucket.day != day:
                bucket.day, bucket.used = day, 0
            if plan.rate > 0:
                bucket.tokens = min(float(plan.burst), bucket.tokens + (now - bucket.at) * plan.rate)
            bucket.at = now
            if plan.quota is not None and bucket.used >= plan.quota:
                midnight = (today + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
                wait = max(1, math.ceil((midnight - today).total_seconds()))
                return Verdict(False, 429, "QUOTA_EXCEEDED", "daily request quota used up", wait)
            if bucket.tokens < 1.0:
                wait = math.ceil((1.0 - bucket.tokens) / plan.rate) if plan.rate > 0 else 60
                return Verdict(False, 429, "THROTTLED", "too many requests, retry later", max(1, wait))
            bucket.tokens -= 1.0
            bucket.used += 1
        return Verdict(True)
