import pytest

from functions.shared.auth import from_event, parse_groups
from functions.shared.wiring import PUBLIC, SIGNED_IN, role_allows, roles


@pytest.mark.parametrize(
    "raw",
    [["admin", "customer"], '["admin","customer"]', "[admin customer]", "admin,customer", "admin, customer"],
)
def test_groups_claim_is_understood_in_every_shape_api_gateway_sends(raw):
    assert parse_groups(raw) == {"admin", "customer"}


def test_no_claims_is_anonymous():
    assert not from_event({"requestContext": {}}).authenticated


def test_claims_give_user_id_email_and_roles():
    event = {"requestContext": {"authorizer": {"claims": {"sub": "u1", "email": "a@b.c", "cognito:groups": "x,y"}}}}
    auth = from_event(event)
    assert (auth.user_id, auth.email, auth.roles) == ("u1", "a@b.c", {"x", "y"})


def test_role_rules():
    staff = roles("catalog")
    assert "admin" in staff
    assert role_allows(PUBLIC, set(), authenticated=False)
    assert not role_allows(SIGNED_IN, set(), authenticated=False)
    assert role_allows(SIGNED_IN, set(), authenticated=True)
    assert not role_allows(staff, {"customer"}, authenticated=True)
    assert role_allows(staff, {"customer", "admin"}, authenticated=True)


def test_unknown_roles_are_a_wiring_error():
    with pytest.raises(ValueError):
        roles("superuser")
