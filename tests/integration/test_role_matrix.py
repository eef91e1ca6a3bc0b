"""The role matrix: every route of the manifest, called anonymously and by a user of each role, gets 401 (anonymous),
403 (a role the route does not allow) or gets through to the handler (never 401/403, never a 5xx), as the manifest's
rule for it says. A route left public must be on ``PUBLIC_ROUTES`` here, so a new route without a rule fails.
Partner routes answer only a signed app (as the partner authorizer lets it through) holding the route's scope: 401
for anyone else, users included, and 403 for an app without the scope; an app never reaches a back-office route."""

from __future__ import annotations

import re

import pytest

from functions.manifest import PLATFORM
from functions.shared.wiring import ALL_ROLES, PARTNER_SCOPES, PUBLIC, Route, role_allows
from tests.conftest import Api, App, User

# Routes that are public on purpose: the storefront, sign-up and log-in, the cart (guests; it verifies a bearer
# token itself when one is sent) and the provider and carrier callbacks (signed by the sender instead).
PUBLIC_ROUTES = {
    "AddCartItem",
    "CarrierCallback",
    "GetCart",
    "GetProduct",
    "ListBrands",
    "ListCategories",
    "ListProducts",
    "ListPromotions",
    "LogIn",
    "PaymentCallback",
    "RefreshTokens",
    "RemoveCartItem",
    "SignUp",
    "SuggestProducts",
    "UpdateCartItem",
}
PARAMS = {
    "action": "approve",
    "app_key": "app_none",
    "address_id": "adr_01M8SXN5K8V9NXKHF8QBX988RT",
    "carrier": "sf-express",
    "code": "WH-NONE",
    "job_id": "job_none",
    "order_id": "ord_01M8SXN5K8V9NXKHF8QBX988RT",
    "product_id": "prd_01M8SXN5K8V9NXKHF8QBX988RT",
    "provider": "card",
    "return_id": "01M8SXN5K8V9NXKHF8QBX988RT",
    "sku": "SKU-NONE",
    "user_id": "00000000-0000-4000-8000-000000000000",
}
USERS = {
    role: User(f"00000000-0000-4000-8000-{i:012d}", f"{role}@example.com", (role,))
    for i, role in enumerate(ALL_ROLES, start=1)
}
PROTECTED = [r for r in PLATFORM.routes if r.auth is not PUBLIC and not r.is_partner]
PARTNER_ROUTES = [r for r in PLATFORM.routes if r.is_partner]


def concrete(route: Route) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PARAMS[m.group(1)], route.path)


def test_every_public_route_is_public_on_purpose() -> None:
    public = {r.name for r in PLATFORM.routes if r.auth is PUBLIC}
    assert public == PUBLIC_ROUTES, "a route without a role rule is public: give it one, or list it here"


def test_every_path_parameter_has_a_value_for_the_matrix() -> None:
    used = {p for r in PLATFORM.routes for p in re.findall(r"\{(\w+)\}", r.path)}
    assert used <= set(PARAMS)


@pytest.mark.parametrize("route", PROTECTED, ids=[r.name for r in PROTECTED])
def test_a_route_answers_each_role_as_its_rule_says(api: Api, route: Route) -> None:
    path = concrete(route)
    anonymous = api(route.method, path, {} if route.method in ("POST", "PUT") else None)
    assert anonymous.status == 401, (route.name, anonymous.body)
    for role, user in USERS.items():
        r = api(route.method, path, {} if route.method in ("POST", "PUT") else None, user=user)
        if role_allows(route.auth, frozenset({role}), True):
            assert r.status not in (401, 403), (route.name, role, r.status, r.body)
            assert r.status < 500, (route.name, role, r.status, r.body)
        else:
            assert r.status == 403, (route.name, role, r.status, r.body)
            assert r.body["error"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("route", PARTNER_ROUTES, ids=[r.name for r in PARTNER_ROUTES])
def test_a_partner_route_answers_only_an_app_with_its_scope(api: Api, route: Route) -> None:
    path = concrete(route)
    body = {} if route.method in ("POST", "PUT") else None
    # No signature at all, or a user's token instead: API Gateway's authorizer says 401, and so does the function.
    assert api(route.method, path, body).status == 401, route.name
    for role, user in USERS.items():
        r = api(route.method, path, body, user=user)
        assert r.status == 401, (route.name, role, r.status, r.body)
    others = tuple(s for s in PARTNER_SCOPES if s != route.scope)
    without = api(route.method, path, body, app=App("app_01M8SXN5K8V9NXKHF8QBX988RT", others))
    assert without.status == 403, (route.name, without.body)
    assert without.body["error"]["code"] == "FORBIDDEN"
    allowed = api(route.method, path, body, app=App("app_01M8SXN5K8V9NXKHF8QBX988RT", (str(route.scope),)))
    assert allowed.status not in (401, 403) and allowed.status < 500, (route.name, allowed.status, allowed.body)


@pytest.mark.parametrize("route", [r for r in PROTECTED if r.path.startswith("/admin/")][:3])
def test_a_partner_app_cannot_call_a_back_office_route(api: Api, route: Route) -> None:
    r = api(
        route.method,
        concrete(route),
        {} if route.method in ("POST", "PUT") else None,
        app=App("app_01M8SXN5K8V9NXKHF8QBX988RT", PARTNER_SCOPES),
    )
    assert r.status in (401, 403), (route.name, r.status, r.body)
