"""Wiring of the audit context: the append-only audit table, its recorder and the admins' list route.

Every audited route (``Route.audited``: back-office and partner writes, in every context) publishes its own
``ActionRecorded`` with the bus grant its ``Route`` gets automatically; this context only stores and lists them
(docs/audit.md). Nothing here, nor anywhere, may update or delete an entry: the recorder may only ``PutItem``."""

from functions.shared.wiring import (
    Access,
    Consumer,
    ContextManifest,
    EventPattern,
    Index,
    Route,
    Table,
    Use,
    reads,
    roles,
)

TABLE = Table(
    name="audit",
    indexes=(
        Index("by_actor", partition_key="actor", sort_key="sk"),
        Index("by_resource", partition_key="resource", sort_key="sk"),
    ),
    ttl_attribute="expires_at",
)

_H = "functions.audit.handlers"

MANIFEST = ContextManifest(
    name="audit",
    description="The append-only audit log of back-office and partner changes",
    tables=(TABLE,),
    settings=("AUDIT_RETENTION_DAYS",),
    routes=(
        Route(
            name="ListAuditEntries",
            handler=f"{_H}.list_entries.handler",
            method="GET",
            path="/admin/audit",
            auth=roles(),  # admins only (DESIGN.md §4)
            uses=(reads(TABLE.ref), reads("secret:cursor")),
            summary="Audit entries by actor, resource and time range, newest first",
        ),
    ),
    consumers=(
        Consumer(
            name="AuditRecorder",
            handler=f"{_H}.recorder.handler",
            # Append only: PutItem (conditioned on the entry not being there), nothing else, not even a read.
            uses=(Use(TABLE.ref, Access.WRITE, ("dynamodb:PutItem",)),),
            patterns=(EventPattern("shop.audit", ("ActionRecorded",)),),
            timeout_s=30,
            visibility_timeout_s=60,
            max_receive_count=10,
        ),
    ),
)
