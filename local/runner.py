"""The local platform as one object: moto, the resources of a manifest, the workers, the gateway and the pump.

:class:`LocalPlatform` is what ``python -m local`` runs for the shop's manifest, and what the platform's own tests
run for small fake manifests. Start-up order is chosen for speed and for clear failures: the gateway binds its port
first (a taken port fails at once), moto and the workers start in parallel (the payment and carrier sandboxes bind
their ports and load their keys meanwhile), then the resources are created, the sandboxes start and their
configuration is stored in the payments and carriers secrets, the workers get the functions' environment, and only
then are routes and consumers served.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import boto3

from functions.shared.wiring import Consumer, Function, Platform, env_names
from local.auth import CognitoVerifier
from local.carrier_sandbox import CarrierSandbox
from local.gateway import Gateway
from local.logs import LogDelivery
from local.moto_server import MotoServer, MotoStartError
from local.openapi import merge
from local.payment_sandbox import PaymentSandbox
from local.pump import EventPump
from local.resources import Created, create_all
from local.throttle import UsagePlans
from local.workers import Invocation, WorkerPool

log = logging.getLogger("local")

REGION = "us-east-1"
SETTLE_TIMEOUT_S = 60.0  # how long start-up waits for the seed's events to be consumed
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class StartupError(RuntimeError):
    """The platform cannot start; the message says why and what to do."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}")
    return value


def _seconds(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive")
    return value


def _off(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "1").strip().lower() in ("0", "false", "no", "off")


def _periods(env: Mapping[str, str], name: str) -> tuple[tuple[str, float], ...]:
    """``Name=seconds,Name=seconds`` (schedule names as in the manifests)."""
    raw = env.get(name, "").strip()
    periods: list[tuple[str, float]] = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        schedule, sep, seconds = part.partition("=")
        try:
            value = float(seconds) if sep and schedule.strip() else None
        except ValueError:
            value = None
        if value is None or value <= 0:
            raise ValueError(f"{name} is a list of Schedule=seconds (positive), not {part!r}")
        periods.append((schedule.strip(), value))
    return tuple(periods)


@dataclass(frozen=True)
class Settings:
    port: int = 3000
    moto_port: int = 0  # 0: any free port
    workers: int = 4
    poll_s: float = 0.5  # how often idle queues and streams are polled
    schedule_s: float | None = None  # overrides every schedule's period (tests, benchmarks)
    schedule_periods: tuple[tuple[str, float], ...] = ()  # (schedule name, seconds): overrides those schedules' periods
    seed: bool = True
    admin_email: str = "admin@example.com"
    admin_password: str = "Admin-Passw0rd!"  # noqa: S105 - the documented local demo account
    shopper_email: str = "shopper@example.com"
    shopper_password: str = "Shopper-Passw0rd!"  # noqa: S105
    prefix: str = "shop-local"
    warm_handlers: bool = True  # import every handler module in every worker at start-up
    log_level: str = "WARNING"  # POWERTOOLS_LOG_LEVEL of the functions
    payment_sandbox: bool = True  # the local Stripe/Alipay/WeChat Pay (local.payment_sandbox)
    payment_sandbox_port: int = 0  # 0: any free port
    carrier_sandbox: bool = True  # the local carriers that play tracking events (local.carrier_sandbox)
    carrier_sandbox_port: int = 0  # 0: any free port

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read ``PORT``, ``MOTO_PORT``, ``LOCAL_*``, ``SHOP_ADMIN_*`` and the sandboxes' ports; ``ValueError`` with a
        clear message."""
        poll = _seconds(env, "LOCAL_POLL_SECONDS")
        return cls(
            port=_int(env, "PORT", 3000, 0),
            moto_port=_int(env, "MOTO_PORT", 0, 0),
            workers=_int(env, "LOCAL_WORKERS", 4, 1),
            poll_s=poll if poll is not None else 0.5,
            schedule_s=_seconds(env, "LOCAL_SCHEDULE_SECONDS"),
            schedule_periods=_periods(env, "LOCAL_SCHEDULES"),
            seed=not _off(env, "LOCAL_SEED"),
            admin_email=env.get("SHOP_ADMIN_EMAIL") or cls.admin_email,
            admin_password=env.get("SHOP_ADMIN_PASSWORD") or cls.admin_password,
            log_level=env.get("POWERTOOLS_LOG_LEVEL") or cls.log_level,
            payment_sandbox=not _off(env, "LOCAL_PAYMENT_SANDBOX"),
            payment_sandbox_port=_int(env, "PAYMENT_SANDBOX_PORT", 0, 0),
            carrier_sandbox=not _off(env, "LOCAL_CARRIER_SANDBOX"),
            carrier_sandbox_port=_int(env, "CARRIER_SANDBOX_PORT", 0, 0),
        )

    def check(self, platform: Platform) -> None:
        """``ValueError`` for settings that name what the platform does not have."""
        known = {s.name for c in platform.contexts for s in c.schedules}
        unknown = sorted({name for name, _ in self.schedule_periods} - known)
        if unknown:
            raise ValueError(
                f"LOCAL_SCHEDULES names no schedule of the platform: {', '.join(unknown)} "
                f"(schedules: {', '.join(sorted(known)) or 'none'})"
            )


class EndpointSession(boto3.Session):
    """A boto3 session whose clients all talk to one endpoint (the local moto), whatever the environment says."""

    def __init__(self, endpoint_url: str) -> None:
        super().__init__(
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=REGION,
        )
        self.endpoint_url = endpoint_url

    def client(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        return super().client(*args, **kwargs)


def _version() -> str:
    try:
        return importlib.metadata.version("serverless-shop")
    except importlib.metadata.PackageNotFoundError:
        return "local"


class LocalPlatform:
    def __init__(self, platform: Platform, settings: Settings | None = None) -> None:
        platform.validate()
        self.platform = platform
        self.settings = settings or Settings()
        self.settings.check(platform)
        self.gateway: Gateway | None = None
        self.moto: MotoServer | None = None
        self.pool: WorkerPool | None = None
        self.pump: EventPump | None = None
        self.log_delivery: LogDelivery | None = None
        self.payment_sandbox: PaymentSandbox | None = None
        self.payment_secret_stored = False  # the sandbox's provider config is in the payments secret
        self.carrier_sandbox: CarrierSandbox | None = None
        self.carrier_secret_stored = False  # the carrier sandbox's secrets are in the carriers secret
        self.session: EndpointSession | None = None
        self.created = Created()
        self._contexts = {f.name: platform.context_of(f).name for f in platform.functions}
        self._openapi_cache: dict[str, Any] | None = None
        self._openapi_lock = threading.Lock()

    # --- life cycle ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        settings = self.settings
        try:
            self.gateway = Gateway(self.platform.routes, port=settings.port)
        except OSError as exc:
            raise StartupError(
                f"cannot listen on 127.0.0.1:{settings.port}: {exc.strerror or exc}; set PORT to another port"
            ) from exc
        self.gateway.start()
        self.moto = MotoServer(settings.moto_port)
        self.moto.launch()
        self.pool = WorkerPool(settings.workers)
        self.pool.start()
        if settings.payment_sandbox:  # loads (or, the first time, makes) its keys while moto starts
            try:
                self.payment_sandbox = PaymentSandbox(settings.payment_sandbox_port, notify_base_url=self.gateway.url)
            except OSError as exc:
                raise StartupError(
                    f"the payment sandbox cannot listen on 127.0.0.1:{settings.payment_sandbox_port}: "
                    f"{exc.strerror or exc}; set PAYMENT_SANDBOX_PORT to another port (or 0)"
                ) from exc
            except ValueError as exc:
                raise StartupError(f"payment sandbox: {exc}") from exc
        if settings.carrier_sandbox:
            try:
                self.carrier_sandbox = CarrierSandbox(settings.carrier_sandbox_port, callback_base_url=self.gateway.url)
            except OSError as exc:
                raise StartupError(
                    f"the carrier sandbox cannot listen on 127.0.0.1:{settings.carrier_sandbox_port}: "
                    f"{exc.strerror or exc}; set CARRIER_SANDBOX_PORT to another port (or 0)"
                ) from exc
            except ValueError as exc:
                raise StartupError(f"carrier sandbox: {exc}") from exc
        try:
            endpoint = self.moto.wait_ready()
        except MotoStartError as exc:
            raise StartupError(str(exc)) from exc
        self.session = EndpointSession(endpoint)
        self.created = create_all(self.platform, prefix=settings.prefix, session=self.session)
        if self.payment_sandbox is not None:
            self.payment_sandbox.start()
            self._store_payment_config(self.payment_sandbox)
        if self.carrier_sandbox is not None:
            self.carrier_sandbox.start()
            self._store_carrier_secrets(self.carrier_sandbox)
        warm = sorted({f.module for f in self.platform.functions}) if settings.warm_handlers else []
        self.pool.configure(self.function_env(), warm)
        verifier = CognitoVerifier.for_user_pool(
            endpoint, self.created.user_pool_id, self.created.user_pool_client_id, REGION
        )
        verifier.load()
        self.pump = EventPump(
            self.platform,
            self.created,
            self.session,
            self.invoke,
            settings.poll_s,
            settings.schedule_s,
            schedule_periods=dict(settings.schedule_periods),
        )
        self.pump.start()
        self.log_delivery = LogDelivery(self.platform, self.invoke)
        self.log_delivery.start()
        usage_plans = UsagePlans(
            self.session.client("apigateway"), self.created.env["REST_API_ID"], self.created.env["API_STAGE_NAME"]
        )
        self.gateway.attach(
            self.invoke, verifier, self.openapi, authorizer=self.platform.partner_authorizer, usage_plans=usage_plans
        )

    def _store_payment_config(self, sandbox: PaymentSandbox) -> None:
        """The sandbox's keys and URLs become the payments secret's value, as the operator sets it in AWS."""
        arn = self.created.env.get("PAYMENTS_SECRET_ARN")
        if arn is None or self.session is None:
            log.warning("the platform declares no payments secret: the payment sandbox's configuration is not stored")
            return
        self.session.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=sandbox.config_json())
        self.payment_secret_stored = True

    def _store_carrier_secrets(self, sandbox: CarrierSandbox) -> None:
        """The sandbox's carrier secrets become the carriers secret's value, as the operator sets it in AWS."""
        arn = self.created.env.get("CARRIERS_SECRET_ARN")
        if arn is None or self.session is None:
            log.warning("the platform declares no carriers secret: the carrier sandbox's secrets are not stored")
            return
        self.session.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=sandbox.secrets_json())
        self.carrier_secret_stored = True

    def settle(self, timeout_s: float = SETTLE_TIMEOUT_S) -> bool:
        """Wait (bounded) until the events of what was done so far (the seed) have been consumed: the search index,
        the checkout's and the analytics' copies are up to date when the platform says it is ready."""
        if self.pump is None:
            return True
        settled = self.pump.settle(timeout_s)
        if not settled:
            log.warning("the consumers had not worked off their queues within %.0f s; ready anyway", timeout_s)
        return settled

    def mark_ready(self) -> None:
        if self.gateway is not None:
            self.gateway.ready = True

    def stop(self) -> None:
        """Stop in dependency order: nothing new comes in, consumers finish, workers end, then moto. Idempotent."""
        steps = (
            ("gateway", self.gateway, lambda g: g.stop()),
            ("event pump", self.pump, lambda p: p.stop()),
            ("log delivery", self.log_delivery, lambda d: d.stop()),
            ("workers", self.pool, lambda p: p.close()),
            ("payment sandbox", self.payment_sandbox, lambda s: s.stop()),
            ("carrier sandbox", self.carrier_sandbox, lambda s: s.stop()),
            ("moto", self.moto, lambda m: m.stop()),
        )
        for name, part, stop in steps:
            if part is None:
                continue
            try:
                stop(part)
            except Exception:
                log.exception("stopping the %s failed", name)
        self.gateway = None
        self.pump = None
        self.log_delivery = None
        self.pool = None
        self.payment_sandbox = None
        self.carrier_sandbox = None
        self.moto = None

    def __enter__(self) -> LocalPlatform:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- what the parts share ------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self.gateway is None:
            raise RuntimeError("the platform is not running")
        return self.gateway.url

    @property
    def moto_endpoint(self) -> str:
        if self.moto is None:
            raise RuntimeError("the platform is not running")
        return self.moto.endpoint

    def function_env(self) -> dict[str, str]:
        """The environment every function gets, as the CDK function factory sets it in AWS. Resource names are not
        here: each invocation carries only those of its function's ``uses`` (:meth:`resource_env`)."""
        if self.moto is None:
            raise RuntimeError("the platform is not running")
        return {
            **DUMMY_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.moto.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "POWERTOOLS_SERVICE_NAME": "shop",
            "POWERTOOLS_METRICS_NAMESPACE": "Shop",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": self.settings.log_level,
            "STAGE": "local",
        }

    def resource_env(self, function: Function) -> dict[str, str]:
        """The physical names of the resources ``function`` may use, and no others, as CDK grants them: a handler
        that reads a resource it was not granted fails here as it would in AWS, instead of only after deploying."""
        names = {name for use in function.uses for name in env_names(use.resource)}
        return {k: v for k, v in self.created.env.items() if k in names}

    def settings_env(self, function: Function) -> dict[str, str]:
        """The shop settings the function's context declares, from this process's environment when set there
        (the CDK app sets them per stage); unset ones keep the defaults in code."""
        names = self.platform.context_of(function).settings
        return {name: os.environ[name] for name in names if os.environ.get(name)}

    def invoke(self, function: Function, event: dict[str, Any]) -> Invocation:
        if self.pool is None:
            raise RuntimeError("the platform is not running")
        env = {
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "POWERTOOLS_SERVICE_NAME": self._contexts[function.name],  # as the CDK factory sets it
            **self.resource_env(function),
            **self.settings_env(function),
        }
        if isinstance(function, Consumer) and function.timer:
            env["CONSUMER_QUEUE_URL"] = self.created.queue_urls[function.name]
        invocation = self.pool.invoke(
            function.handler,
            event,
            function_name=function.name,
            timeout_s=function.timeout_s,
            memory_mb=function.memory_mb,
            env=env,
        )
        if self.log_delivery is not None:
            self.log_delivery.offer(function, invocation.logs)  # only queued: the caller does not wait on it
        return invocation

    def openapi(self) -> dict[str, Any]:
        """The merged document; cached once every handler module has contributed its part."""
        with self._openapi_lock:
            if self._openapi_cache is not None:
                return self._openapi_cache
            if self.pool is None:
                raise RuntimeError("the platform is not running")
            routes = list(self.platform.routes)
            fragments = self.pool.call("local.openapi:route_fragments", routes)
            document = merge(routes, fragments, _version())
            if not any("error" in f for f in fragments):
                self._openapi_cache = document
            return document


def ensure_dummy_credentials(environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """Before any boto3 client exists (DESIGN.md §8): dummy credentials and region, never a real account."""
    environ.update(DUMMY_CREDENTIALS)
    environ["AWS_DEFAULT_REGION"] = REGION
    environ["AWS_REGION"] = REGION
    environ.pop("AWS_PROFILE", None)
