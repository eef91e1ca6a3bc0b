"""The OpenAPI document marks partner routes with the signature scheme and their scope, not the Cognito token."""

from __future__ import annotations

from functions.shared.wiring import PARTNER, Route, roles
from local.openapi import PARTNER_SCHEME, SECURITY_SCHEME, merge

PARTNER_ROUTE = Route(
    name="PartnerThing",
    handler="x.y.handler",
    method="GET",
    path="/partner/v1/things",
    auth=PARTNER,
    scope="orders:read",
)
ADMIN_ROUTE = Route(name="AdminThing", handler="x.y.handler", method="POST", path="/admin/things", auth=roles())


def test_a_partner_route_is_documented_with_the_signature_scheme_and_its_scope() -> None:
    document = merge([PARTNER_ROUTE, ADMIN_ROUTE], [{"operation": {}, "schemas": {}}, {"operation": {}, "schemas": {}}])
    operation = document["paths"]["/partner/v1/things"]["get"]
    assert operation["security"] == [{PARTNER_SCHEME: []}]
    assert operation["x-scope"] == "orders:read"
    assert {"401", "403", "429"} <= set(operation["responses"])
    assert "x-roles" not in operation
    assert document["paths"]["/admin/things"]["post"]["security"] == [{SECURITY_SCHEME: []}]
    scheme = document["components"]["securitySchemes"][PARTNER_SCHEME]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-App-Key")
