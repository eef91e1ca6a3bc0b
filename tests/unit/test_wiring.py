import importlib

import pytest

from functions.manifest import PLATFORM
from functions.shared.wiring import ContextManifest, Platform, Route, Table, reads, writes


def test_the_platform_manifest_is_valid():
    PLATFORM.validate()


@pytest.mark.parametrize("function", PLATFORM.functions, ids=lambda f: f.name)
def test_every_declared_handler_exists(function):
    module = importlib.import_module(function.module)
    assert callable(getattr(module, function.attribute))


def _platform(*contexts: ContextManifest) -> Platform:
    return Platform(contexts=contexts)


def test_a_function_may_not_touch_another_contexts_table():
    a = ContextManifest("a", tables=(Table("a"),))
    b = ContextManifest("b", routes=(Route(name="R", handler="m.h", uses=(writes("table:a"),)),))
    with pytest.raises(ValueError, match="another context"):
        _platform(a, b).validate()


def test_grants_on_undeclared_resources_are_refused():
    a = ContextManifest("a", routes=(Route(name="R", handler="m.h", uses=(reads("table:nope"),)),))
    with pytest.raises(ValueError, match="undeclared"):
        _platform(a).validate()


def test_two_functions_for_one_route_are_refused():
    a = ContextManifest(
        "a",
        routes=(
            Route(name="R1", handler="m.h", method="GET", path="/x"),
            Route(name="R2", handler="m.h", method="GET", path="/x"),
        ),
    )
    with pytest.raises(ValueError, match="duplicate routes"):
        _platform(a).validate()


def test_read_routes_do_not_write():
    for route in PLATFORM.routes:
        if route.method == "GET":
            assert not route.writes_anything, route.name


def _platform_with(context):
    from functions.shared.wiring import Platform

    return Platform(contexts=(context,))


def test_a_route_with_optional_identity_must_be_public_and_know_the_user_pool():
    from functions.shared.wiring import SIGNED_IN, USER_POOL_CLIENT, ContextManifest, Route

    ok = Route(name="A", handler="m.h", path="/a", optional_identity=True, uses=(USER_POOL_CLIENT,))
    _platform_with(ContextManifest(name="x", routes=(ok,))).validate()
    for bad in (
        Route(name="B", handler="m.h", path="/b", optional_identity=True),
        Route(name="C", handler="m.h", path="/c", optional_identity=True, auth=SIGNED_IN, uses=(USER_POOL_CLIENT,)),
    ):
        with pytest.raises(ValueError, match="optional_identity"):
            _platform_with(ContextManifest(name="x", routes=(bad,))).validate()


def test_a_timer_consumer_leaves_room_for_its_postponements():
    from functions.shared.wiring import Consumer, ContextManifest, EventPattern

    timer = Consumer(name="T", handler="m.h", patterns=(EventPattern("s", ("E",)),), timer=True, max_receive_count=2)
    with pytest.raises(ValueError, match="max_receive_count"):
        _platform_with(ContextManifest(name="x", consumers=(timer,))).validate()
