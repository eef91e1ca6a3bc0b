from functions.shared.errors import Conflict, Throttled


def test_throttled_errors_tell_the_client_when_to_retry():
    assert Throttled("busy").headers == {"Retry-After": "1"}
    assert Throttled("busy", headers={"Retry-After": "30"}).headers == {"Retry-After": "30"}


def test_error_bodies_have_the_documented_shape():
    assert Conflict("stale", code="VERSION_CONFLICT", details=["v"]).body() == {
        "error": {"code": "VERSION_CONFLICT", "message": "stale", "details": ["v"]}
    }
    assert Conflict("x").status == 409
