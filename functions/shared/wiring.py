"""The wiring declaration: the one place that says which function serves which route or event and what it may touch.

Each bounded context declares a :class:`ContextManifest` in ``functions/<context>/manifest.py``; ``functions.manifest``
collects them. The CDK app (``infra/``) and the local platform (``local/``) are both built from these objects, so a
route, a consumer, a table or a permission exists in both or in neither.

Resources are named by a short reference string:

* ``table:<name>``   a DynamoDB table declared by a context (env ``<NAME>_TABLE_NAME``)
* ``bucket:<name>``  an S3 bucket declared by a context (env ``<NAME>_BUCKET_NAME``)
* ``secret:<name>``  a Secrets Manager secret declared by the platform (env ``<NAME>_SECRET_ARN``)
* ``bus``            the shared EventBridge bus (env ``EVENT_BUS_NAME``)
* ``userpool``       the shared Cognito user pool (env ``USER_POOL_ID`` and ``USER_POOL_CLIENT_ID``)
* ``key:<name>``     a KMS key declared by a context (env ``<NAME>_KEY_ID``)
* ``api``            the REST API itself, for managing partner API keys and usage plans (env ``REST_API_ID`` and
                     ``API_STAGE_NAME``)

This module is imported by Lambda code too (the HTTP layer looks up a route's roles here), so it imports nothing
beyond the standard library, and its dataclasses skip the generated ``__eq__``/``__repr__``/``__hash__``: on a cold
start those cost about 2 ms per class, four times the rest (identity equality is all the wiring needs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class Access(StrEnum):
    READ = "read"
    WRITE = "write"  # implies read


@dataclass(frozen=True, eq=False, repr=False)
class Use:
    """A function's grant on one resource. ``actions`` narrows the grant to named IAM actions (used for Cognito)."""

    resource: str
    access: Access = Access.READ
    actions: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.resource.split(":", 1)[0]

    @property
    def name(self) -> str:
        return self.resource.split(":", 1)[1] if ":" in self.resource else self.resource


def reads(resource: str) -> Use:
    return Use(resource, Access.READ)


def writes(resource: str) -> Use:
    return Use(resource, Access.WRITE)


_READ_ACTION_PREFIXES = ("AdminGet", "AdminList", "Get", "List", "Describe")


def cognito(*actions: str) -> Use:
    """Grant named Cognito admin actions on the shared user pool (e.g. ``AdminAddUserToGroup``). The grant counts
    as a write unless every action only reads."""
    reading = all(a.startswith(_READ_ACTION_PREFIXES) for a in actions)
    return Use("userpool", Access.READ if reading else Access.WRITE, tuple(f"cognito-idp:{a}" for a in actions))


PUBLISH_EVENTS = Use("bus", Access.WRITE)
MANAGE_USAGE_PLANS = Use("api", Access.WRITE)  # API keys and usage plans of partner apps (infra/grants.py)
USER_POOL_CLIENT = Use("userpool", Access.READ)  # only the ids, for the public (unsigned) Cognito APIs


def env_names(resource: str) -> tuple[str, ...]:
    """The environment variables through which a function learns the physical name of ``resource``."""
    kind, _, name = resource.partition(":")
    upper = name.upper().replace("-", "_")
    if kind == "table":
        return (f"{upper}_TABLE_NAME",)
    if kind == "bucket":
        return (f"{upper}_BUCKET_NAME",)
    if kind == "secret":
        return (f"{upper}_SECRET_ARN",)
    if kind == "queue":
        return (f"{upper}_QUEUE_URL",)
    if kind == "bus":
        return ("EVENT_BUS_NAME",)
    if kind == "userpool":
        return ("USER_POOL_ID", "USER_POOL_CLIENT_ID")
    if kind == "key":
        return (f"{upper}_KEY_ID",)
    if kind == "api":
        return ("REST_API_ID", "API_STAGE_NAME")
    raise ValueError(f"unknown resource kind in {resource!r}")


# --- who may call a route ---------------------------------------------------------------------------------------

PUBLIC: frozenset[str] | None = None  # no authentication at all
SIGNED_IN: frozenset[str] = frozenset()  # any authenticated user, whatever their groups
STAFF_ROLES = ("catalog", "fulfilment", "analyst", "admin")
ALL_ROLES = ("customer", *STAFF_ROLES)


def roles(*names: str) -> frozenset[str]:
    """Route open to these Cognito groups. ``admin`` may call every route (DESIGN.md §4), so it is always added."""
    unknown = set(names) - set(ALL_ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return frozenset((*names, "admin"))


# A partner route: no Cognito token but a signed request, checked by the partner authorizer (DESIGN.md §5), and the
# app must hold the route's ``scope``. No user role ever reaches it, and no app reaches any other route.
PARTNER: frozenset[str] = frozenset({"partner-app"})
PARTNER_SCOPES = ("products:read", "orders:read", "shipments:write", "inventory:write")
PARTNER_PATH_PREFIX = "/partner/"


def role_allows(allowed: frozenset[str] | None, groups: frozenset[str] | set[str], authenticated: bool) -> bool:
    if allowed is None:
        return True
    if allowed is PARTNER:
        return False  # apps are let in by scope (functions.shared.http.authorise), never by a user's groups
    if not authenticated:
        return False
    return not allowed or bool(allowed & set(groups))


def is_staff_only(allowed: frozenset[str] | None) -> bool:
    """Back office: open to staff roles only (not to every signed-in user, not to shoppers)."""
    return allowed is not None and allowed is not PARTNER and bool(allowed) and "customer" not in allowed


# --- storage ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Index:
    name: str
    partition_key: str
    sort_key: str | None = None


@dataclass(frozen=True, eq=False, repr=False)
class Table:
    name: str
    partition_key: str = "pk"
    sort_key: str | None = "sk"
    indexes: tuple[Index, ...] = ()
    stream: bool = False  # NEW_IMAGE stream, e.g. for the transactional outbox
    ttl_attribute: str | None = None

    @property
    def ref(self) -> str:
        return f"table:{self.name}"


@dataclass(frozen=True, eq=False, repr=False)
class Key:
    """A KMS key (symmetric, rotated yearly) that a context encrypts its own secrets with, e.g. partner app
    secrets."""

    name: str
    description: str = ""

    @property
    def ref(self) -> str:
        return f"key:{self.name}"


@dataclass(frozen=True, eq=False, repr=False)
class Bucket:
    name: str
    browser_uploads: bool = False  # CORS for presigned POST uploads from a browser

    @property
    def ref(self) -> str:
        return f"bucket:{self.name}"


# --- functions --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Function:
    """Settings common to every kind of function."""

    name: str  # PascalCase, unique across the app; the CDK construct id and the local worker key
    handler: str  # dotted path "functions.catalog.handlers.get_product.handler"
    uses: tuple[Use, ...] = ()
    memory_mb: int = 512
    timeout_s: int = 10
    hot: bool = False  # on a hot path: candidates for provisioned concurrency
    # Reserved concurrency: a ceiling (and a guaranteed share) for a function whose callers must not be able to
    # swamp what it calls, e.g. a payment provider's API. None: the account's shared pool.
    reserved_concurrency: int | None = None

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    @property
    def writes_anything(self) -> bool:
        return any(u.access is Access.WRITE for u in self.uses)


@dataclass(frozen=True, eq=False, repr=False)
class Route(Function):
    method: str = "GET"
    path: str = "/"
    auth: frozenset[str] | None = PUBLIC  # PUBLIC, SIGNED_IN or roles(...)
    summary: str = ""
    # A partner route (auth=PARTNER) names the one scope an app needs to call it (PARTNER_SCOPES).
    scope: str | None = None
    # A PUBLIC route that also serves signed-in callers (a guest or a shopper's cart): API Gateway cannot make a
    # Cognito authorizer optional, so the function verifies a bearer ID token itself when one is sent
    # (functions.shared.jwt) and needs the user pool's ids (USER_POOL_CLIENT).
    optional_identity: bool = False

    def __post_init__(self) -> None:
        # An audited call publishes its audit record to the bus itself (functions.shared.audit), so the grant comes
        # with the route: nobody can declare an audited route that cannot record.
        if self.audited and PUBLISH_EVENTS not in self.uses:
            object.__setattr__(self, "uses", (*self.uses, PUBLISH_EVENTS))

    @property
    def key(self) -> tuple[str, str]:
        return (self.method.upper(), self.path)

    @property
    def is_partner(self) -> bool:
        return self.auth is PARTNER

    @property
    def audited(self) -> bool:
        """Every back-office and partner call that changes something is recorded in the audit log."""
        return self.method.upper() not in ("GET", "HEAD", "OPTIONS") and (self.is_partner or is_staff_only(self.auth))


@dataclass(frozen=True, eq=False, repr=False)
class EventPattern:
    source: str  # e.g. "shop.catalog"
    detail_types: tuple[str, ...]


@dataclass(frozen=True, eq=False, repr=False)
class Consumer(Function):
    """An EventBridge rule -> SQS queue (+ DLQ) -> Lambda reading batches with partial-failure reporting."""

    patterns: tuple[EventPattern, ...] = ()
    batch_size: int = 10
    max_receive_count: int = 5
    visibility_timeout_s: int = 60
    # A timer: the function postpones a message that is not due yet by changing its visibility on its own queue
    # (URL in CONSUMER_QUEUE_URL; the SQS event source's grant covers ChangeMessageVisibility). Every postponement is
    # a receive, so max_receive_count must allow for them.
    timer: bool = False
    # The SQS event source's maximum concurrency (2..1000): how many batches run at once. Unlike reserved
    # concurrency it stops the poller from taking more messages than the function may run, so nothing is throttled
    # back onto the queue. None: Lambda's default scaling.
    max_concurrency: int | None = None


@dataclass(frozen=True, eq=False, repr=False)
class StreamConsumer(Function):
    """A DynamoDB stream reader (the outbox relay). Only records whose partition key starts with ``key_prefix``
    and whose event name is in ``event_names`` reach the function (an event source mapping filter in AWS)."""

    table: str = ""
    key_prefix: str = ""
    event_names: tuple[str, ...] = ("INSERT",)
    batch_size: int = 100


@dataclass(frozen=True, eq=False, repr=False)
class Schedule(Function):
    """A function fired on a timer. ``rate_minutes`` is both the EventBridge Scheduler rate and the local period."""

    rate_minutes: int = 1


@dataclass(frozen=True, eq=False, repr=False)
class Authorizer(Function):
    """An API Gateway Lambda REQUEST authorizer in front of every partner route (``auth=PARTNER``). It answers
    with the app as principal, the app's API key as usage identifier (usage plans) and its scopes in the context.
    ``identity_headers`` must all be present or API Gateway answers 401 without calling it."""

    identity_headers: tuple[str, ...] = ()


# CloudWatch Logs allows two subscription filters on one log group.
MAX_SUBSCRIPTIONS_PER_LOG_GROUP = 2


@dataclass(frozen=True, eq=False, repr=False)
class LogSubscription(Function):
    """A function fed by the logs of other functions of its context: a CloudWatch Logs subscription filter on each
    source's log group delivers (in batches, asynchronously) the lines that are JSON objects with one of ``keys`` at
    the top level. A way to publish facts from a hot path without the response waiting on any call: the handler
    writes a log line, which is local."""

    sources: tuple[str, ...] = ()  # names of functions of the same context
    keys: tuple[str, ...] = ()  # top-level JSON keys; a line with any of them is delivered


@dataclass(frozen=True, eq=False, repr=False)
class ContextManifest:
    name: str
    description: str = ""
    tables: tuple[Table, ...] = ()
    buckets: tuple[Bucket, ...] = ()
    routes: tuple[Route, ...] = ()
    consumers: tuple[Consumer, ...] = ()
    stream_consumers: tuple[StreamConsumer, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    log_subscriptions: tuple[LogSubscription, ...] = ()
    authorizers: tuple[Authorizer, ...] = ()
    keys: tuple[Key, ...] = ()
    # Shop settings (environment variables) the context's functions read, with defaults in code. Each stage sets
    # them in infra/config.py; the local platform passes them through from its own environment.
    settings: tuple[str, ...] = ()

    @property
    def functions(self) -> tuple[Function, ...]:
        return (
            *self.routes,
            *self.consumers,
            *self.stream_consumers,
            *self.schedules,
            *self.log_subscriptions,
            *self.authorizers,
        )


@dataclass(frozen=True, eq=False, repr=False)
class Secret:
    name: str
    description: str = ""

    @property
    def ref(self) -> str:
        return f"secret:{self.name}"


@dataclass(frozen=True, eq=False, repr=False)
class Platform:
    """Resources shared by all contexts (created by the shared stack / once locally)."""

    contexts: tuple[ContextManifest, ...]
    secrets: tuple[Secret, ...] = ()
    user_groups: tuple[str, ...] = ALL_ROLES
    event_sources: tuple[str, ...] = field(default=())

    @property
    def functions(self) -> tuple[Function, ...]:
        return tuple(f for c in self.contexts for f in c.functions)

    @property
    def routes(self) -> tuple[Route, ...]:
        return tuple(r for c in self.contexts for r in c.routes)

    @property
    def tables(self) -> tuple[Table, ...]:
        return tuple(t for c in self.contexts for t in c.tables)

    @property
    def buckets(self) -> tuple[Bucket, ...]:
        return tuple(b for c in self.contexts for b in c.buckets)

    @property
    def keys(self) -> tuple[Key, ...]:
        return tuple(k for c in self.contexts for k in c.keys)

    @property
    def authorizers(self) -> tuple[Authorizer, ...]:
        return tuple(a for c in self.contexts for a in c.authorizers)

    @property
    def partner_authorizer(self) -> Authorizer | None:
        return self.authorizers[0] if self.authorizers else None

    def context_of(self, function: Function) -> ContextManifest:
        for c in self.contexts:
            if function in c.functions:
                return c
        raise KeyError(function.name)

    def validate(self) -> None:
        """Fail fast on wiring mistakes: duplicate names/routes, grants on undeclared resources."""
        names = [f.name for f in self.functions]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"duplicate function names: {sorted(dupes)}")
        keys = [r.key for r in self.routes]
        dup_routes = {k for k in keys if keys.count(k) > 1}
        if dup_routes:
            raise ValueError(f"duplicate routes: {sorted(dup_routes)}")
        known = {t.ref for t in self.tables} | {b.ref for b in self.buckets} | {s.ref for s in self.secrets}
        known |= {"bus", "userpool", "api"}
        if len(self.authorizers) > 1:
            raise ValueError("one partner authorizer serves every partner route")
        partner_routes = [r for r in self.routes if r.is_partner]
        if partner_routes and not self.authorizers:
            raise ValueError("partner routes need the partner authorizer")
        for r in self.routes:
            if r.is_partner != r.path.startswith(PARTNER_PATH_PREFIX):
                raise ValueError(f"{r.name}: partner routes, and only they, live under {PARTNER_PATH_PREFIX}")
            if r.is_partner and r.scope not in PARTNER_SCOPES:
                raise ValueError(f"{r.name}: a partner route needs one of the scopes {PARTNER_SCOPES}")
            if not r.is_partner and r.scope is not None:
                raise ValueError(f"{r.name}: only partner routes have a scope")
        for c in self.contexts:
            own_tables = {t.ref for t in c.tables}
            own_keys = {k.ref for k in c.keys}
            known_here = known | own_keys
            for f in c.functions:
                for u in f.uses:
                    if u.resource not in known_here:
                        raise ValueError(f"{f.name} uses undeclared resource {u.resource}")
                    if u.kind == "table" and u.resource not in own_tables:
                        # DESIGN.md §2: a context never reads or writes another context's table.
                        raise ValueError(f"{f.name} ({c.name}) uses another context's table {u.resource}")
            for r in c.routes:
                if r.optional_identity and (r.auth is not PUBLIC or not any(u.kind == "userpool" for u in r.uses)):
                    # It must reach the function without an authorizer, and the function needs the pool's ids.
                    raise ValueError(f"{r.name}: optional_identity needs auth=PUBLIC and the user pool's ids")
            for consumer in c.consumers:
                if consumer.max_concurrency is not None and not 2 <= consumer.max_concurrency <= 1000:
                    raise ValueError(f"{consumer.name}: max_concurrency is 2..1000 (the SQS event source's range)")
                if consumer.timer and consumer.max_receive_count < 3:
                    # Each postponement is a receive: one at arrival, one when due, and room for a real failure.
                    raise ValueError(f"{consumer.name}: a timer needs max_receive_count >= 3")
            for s in c.stream_consumers:
                if f"table:{s.table}" not in own_tables:
                    raise ValueError(f"{s.name} reads the stream of undeclared table {s.table}")
            self._validate_log_subscriptions(c)
        filters = [source for c in self.contexts for ls in c.log_subscriptions for source in ls.sources]
        crowded = sorted({n for n in filters if filters.count(n) > MAX_SUBSCRIPTIONS_PER_LOG_GROUP})
        if crowded:
            raise ValueError(
                f"log groups of {crowded} would need more than {MAX_SUBSCRIPTIONS_PER_LOG_GROUP} subscription filters"
            )

    @staticmethod
    def _validate_log_subscriptions(context: ContextManifest) -> None:
        own = {f.name for f in context.functions}
        for ls in context.log_subscriptions:
            if not ls.sources or not ls.keys:
                raise ValueError(f"log subscription {ls.name} needs at least one source and one key")
            if len(set(ls.sources)) != len(ls.sources):
                raise ValueError(f"log subscription {ls.name} lists a source twice")
            for source in ls.sources:
                # Another context's logs are its internals (DESIGN.md §2); it would publish an event instead.
                if source not in own:
                    raise ValueError(f"log subscription {ls.name} reads the logs of {source}, not in {context.name}")
                if source == ls.name:
                    raise ValueError(f"log subscription {ls.name} would feed on its own logs")
            for key in ls.keys:
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                    # The key goes into a CloudWatch JSON filter pattern ($.<key>) unquoted.
                    raise ValueError(f"log subscription {ls.name}: key {key!r} is not a plain identifier")
