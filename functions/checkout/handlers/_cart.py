"""What the cart handlers share: who owns the cart (a signed-in shopper, or a guest's cart token)."""

from __future__ import annotations

import re

from functions.checkout.service import CART_TOKEN_PATTERN
from functions.shared.errors import BadRequest
from functions.shared.http import ShopResolver, current_auth

TOKEN_HEADER = "X-Cart-Token"  # noqa: S105 - a header name


def cart_identity(app: ShopResolver) -> tuple[str | None, str | None]:
    """(user id or None, guest cart token or None). A signed-in caller who sends a token has that guest cart merged
    into theirs."""
    auth = current_auth(app) if app.context.get("auth") is not None else None
    token = app.current_event.get_header_value(TOKEN_HEADER, case_sensitive=False)
    if token is not None:
        token = token.strip()
        if not re.fullmatch(CART_TOKEN_PATTERN, token):
            raise BadRequest(f"{TOKEN_HEADER} is not a cart token this shop issued", code="INVALID_CART_TOKEN")
    user_id = auth.user_id if auth is not None and auth.authenticated else None
    return user_id, token or None
