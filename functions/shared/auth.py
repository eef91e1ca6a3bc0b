"""Who is calling: the user id and roles taken from the API Gateway authorizer context.

In AWS the Cognito user-pool authorizer has already verified the ID token and put its claims in
``requestContext.authorizer.claims``; the local gateway does the same after verifying the token against the local
user pool's JWKS. Roles are the token's ``cognito:groups``.

A partner app is identified by the partner authorizer (functions/partners/handlers/authorizer.py), which puts
``app_key``, ``app_name`` and ``scopes`` (space separated) in ``requestContext.authorizer``; such a caller has no
user id and no roles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AuthContext:
    user_id: str | None = None
    email: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    claims: dict[str, Any] = field(default_factory=dict)
    app_key: str | None = None
    app_name: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def is_app(self) -> bool:
        return self.app_key is not None

    @property
    def actor(self) -> str:
        """Who did it, for the audit log: ``user:<sub>``, ``app:<key>`` or ``anonymous``."""
        if self.user_id is not None:
            return f"user:{self.user_id}"
        if self.app_key is not None:
            return f"app:{self.app_key}"
        return "anonymous"

    def has_any(self, *names: str) -> bool:
        return bool(self.roles & set(names))


ANONYMOUS = AuthContext()


def parse_groups(raw: Any) -> frozenset[str]:
    """API Gateway flattens the groups claim to a string; accept every shape seen in practice:
    a list, a JSON list, ``"[a b]"`` (HTTP API style) and ``"a,b"`` (REST API style)."""
    if raw is None or raw == "":
        return frozenset()
    if isinstance(raw, list | tuple | set | frozenset):
        return frozenset(str(g) for g in raw)
    text = str(raw).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            loaded = json.loads(text)
            if isinstance(loaded, list):
                return frozenset(str(g) for g in loaded)
        except ValueError:
            pass
        text = text[1:-1]
    return frozenset(part for part in text.replace(",", " ").split() if part)


def from_event(event: dict[str, Any]) -> AuthContext:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = authorizer.get("claims") or {}
    sub = claims.get("sub")
    if not sub:
        app_key = authorizer.get("app_key")
        if app_key:
            return AuthContext(
                app_key=str(app_key),
                app_name=str(authorizer.get("app_name") or ""),
                scopes=frozenset(str(authorizer.get("scopes") or "").split()),
            )
        return ANONYMOUS
    return AuthContext(
        user_id=str(sub),
        email=claims.get("email"),
        roles=parse_groups(claims.get("cognito:groups")),
        claims=dict(claims),
    )
