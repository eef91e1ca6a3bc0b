"""Wiring of the partners context: the back office's partner-app routes, and the authorizer that checks every signed
partner request (DESIGN.md §5) before any partner handler runs. App secrets are encrypted with the context's KMS
key; each app's rate limit and quota are an API Gateway usage plan that the create route makes."""

from functions.partners.signing import REQUIRED_HEADERS
from functions.shared.wiring import (
    MANAGE_USAGE_PLANS,
    Authorizer,
    ContextManifest,
    Index,
    Key,
    Route,
    Table,
    Use,
    reads,
    roles,
    writes,
)

TABLE = Table(
    name="partners",
    indexes=(Index("by_created", "kind", "created_sk"),),
    ttl_attribute="expires_at",
)
KEY = Key(name="partners", description="Encrypts partner app secrets")
ENCRYPT = Use(KEY.ref, actions=("kms:Encrypt",))
DECRYPT = Use(KEY.ref, actions=("kms:Decrypt",))

_H = "functions.partners.handlers"

MANIFEST = ContextManifest(
    name="partners",
    description="Partner apps, their secrets and the signed-request authorizer",
    tables=(TABLE,),
    keys=(KEY,),
    settings=("PARTNER_SECRET_GRACE_HOURS",),
    routes=(
        Route(
            name="ListPartners",
            handler=f"{_H}.list_partners.handler",
            method="GET",
            path="/admin/partners",
            auth=roles(),
            # The cursor secret signs the next_cursor of a page (functions.shared.cursor).
            uses=(reads(TABLE.ref), reads("secret:cursor")),
            summary="Partner apps, newest first",
        ),
        Route(
            name="CreatePartner",
            handler=f"{_H}.create_partner.handler",
            method="POST",
            path="/admin/partners",
            auth=roles(),
            # Decrypt: an idempotent retry gets the secret it lost.
            uses=(writes(TABLE.ref), ENCRYPT, DECRYPT, MANAGE_USAGE_PLANS),
            summary="Register a partner app; its secret is shown once",
        ),
        Route(
            name="RevokePartner",
            handler=f"{_H}.revoke_partner.handler",
            method="DELETE",
            path="/admin/partners/{app_key}",
            auth=roles(),
            uses=(writes(TABLE.ref), MANAGE_USAGE_PLANS),
            summary="Revoke a partner app",
        ),
        Route(
            name="RotatePartnerSecret",
            handler=f"{_H}.rotate_partner_secret.handler",
            method="POST",
            path="/admin/partners/{app_key}/rotate",
            auth=roles(),
            uses=(writes(TABLE.ref), ENCRYPT),
            summary="Give a partner app a new secret; the old one works for a grace period",
        ),
    ),
    authorizers=(
        Authorizer(
            name="PartnerAuthorizer",
            handler=f"{_H}.authorizer.handler",
            # Write: it remembers each nonce (a conditional Put); it never changes an app.
            uses=(Use(TABLE.ref, writes(TABLE.ref).access, ("dynamodb:GetItem", "dynamodb:PutItem")), DECRYPT),
            identity_headers=REQUIRED_HEADERS,
            memory_mb=512,
            timeout_s=5,
            hot=True,
        ),
    ),
)
