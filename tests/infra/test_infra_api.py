"""The REST API in the synthesised templates: every manifest route is a method on its own function, protected
routes go through the Cognito authorizer, and what API Gateway answers by itself follows the error contract."""

from __future__ import annotations

import dataclasses
import json

from shop_templates import (
    Synth,
    api_methods,
    api_resource_paths,
    function_ids_by_handler_name,
    get_att_targets,
    props,
    resources,
    synthesize,
)

from functions.manifest import PLATFORM
from functions.shared.http import CORS
from functions.shared.wiring import PUBLIC
from infra.api import CORS_ALLOW_HEADERS, CORS_ALLOW_ORIGINS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_S
from infra.config import STAGES


def test_every_manifest_route_is_a_method_backed_by_its_own_function(stage: Synth) -> None:
    methods = api_methods(stage)
    keyed = {(m.http_method, m.path): m for m in methods}
    assert set(keyed) == {r.key for r in PLATFORM.routes}
    functions = function_ids_by_handler_name(stage)
    for route in PLATFORM.routes:
        method = keyed[route.key]
        context, function_id = functions[route.name]
        assert method.context == context == PLATFORM.context_of(route).name
        assert method.function_id == function_id, f"{route.name} is integrated with another function"
        function = props(stage.nested[context]["Resources"][function_id])
        assert function["Handler"] == route.handler
    assert len({(m.context, m.function_id) for m in methods}) == len(methods), "a function serves two routes"


def test_methods_are_lambda_proxy_integrations(dev: Synth) -> None:
    for template in dev.nested.values():
        for logical_id, method in resources(template, "AWS::ApiGateway::Method").items():
            integration = props(method)["Integration"]
            assert integration["Type"] == "AWS_PROXY", logical_id
            assert integration["IntegrationHttpMethod"] == "POST", logical_id


def test_protected_routes_use_the_cognito_authorizer_and_public_routes_none(stage: Synth) -> None:
    authorizers = resources(stage.parent, "AWS::ApiGateway::Authorizer")
    by_type = {props(a)["Type"]: (i, a) for i, a in authorizers.items()}
    assert sorted(by_type) == ["COGNITO_USER_POOLS", "REQUEST"]
    authorizer_id, authorizer = by_type["COGNITO_USER_POOLS"]
    partner_id, _ = by_type["REQUEST"]
    assert props(authorizer)["Type"] == "COGNITO_USER_POOLS"
    assert props(authorizer)["IdentitySource"] == "method.request.header.Authorization"
    (pool_id,) = resources(stage.parent, "AWS::Cognito::UserPool")
    assert get_att_targets(props(authorizer)["ProviderARNs"], "Arn") == [pool_id]

    keyed = {(m.http_method, m.path): m for m in api_methods(stage)}
    kinds = {route.auth is PUBLIC for route in PLATFORM.routes}
    assert kinds == {True, False}, "the manifest should have both public and protected routes to check"
    for route in PLATFORM.routes:
        method = keyed[route.key]
        if route.auth is PUBLIC:
            assert (method.authorization_type, method.authorizer_id) == ("NONE", None), route.name
        elif route.is_partner:
            assert (method.authorization_type, method.authorizer_id) == ("CUSTOM", partner_id), route.name
        else:
            assert (method.authorization_type, method.authorizer_id) == ("COGNITO_USER_POOLS", authorizer_id), (
                route.name
            )


def test_the_resource_tree_is_built_once_in_the_shared_stack(dev: Synth) -> None:
    paths = api_resource_paths(dev.parent)
    assert len(set(paths.values())) == len(paths), "a path part is created twice"
    expected = set()
    for route in PLATFORM.routes:
        parts = route.path.strip("/").split("/")
        expected |= {"/" + "/".join(parts[: i + 1]) for i in range(len(parts))}
    assert set(paths.values()) == expected
    for template in dev.nested.values():
        assert not resources(template, "AWS::ApiGateway::Resource"), "a nested stack creates API resources"


def test_every_route_path_answers_the_cors_preflight_with_its_methods(dev: Synth) -> None:
    paths = api_resource_paths(dev.parent)
    preflights = {
        paths[props(m)["ResourceId"]["Ref"]]: props(m)
        for m in resources(dev.parent, "AWS::ApiGateway::Method").values()
        if props(m)["HttpMethod"] == "OPTIONS"
    }
    for path in {r.path for r in PLATFORM.routes}:
        method = preflights[path]
        assert method["AuthorizationType"] == "NONE"
        assert method["Integration"]["Type"] == "MOCK"
        headers = method["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        allowed = set(headers["method.response.header.Access-Control-Allow-Methods"].strip("'").split(","))
        assert allowed == {r.method.upper() for r in PLATFORM.routes if r.path == path} | {"OPTIONS"}
        allowed_headers = set(headers["method.response.header.Access-Control-Allow-Headers"].strip("'").split(","))
        assert allowed_headers == set(CORS_ALLOW_HEADERS)
    assert set(preflights) == {r.path for r in PLATFORM.routes}, "preflight on a path with nothing to call"
    non_preflight = [
        m for m in resources(dev.parent, "AWS::ApiGateway::Method").values() if props(m)["HttpMethod"] != "OPTIONS"
    ]
    assert not non_preflight, "the shared stack must hold no route methods"


def test_api_cors_matches_what_the_handlers_answer() -> None:
    builtin = set(type(CORS)._REQUIRED_HEADERS)
    assert CORS.allow_headers - builtin <= set(CORS_ALLOW_HEADERS)
    assert {"Authorization", "Content-Type"} <= set(CORS_ALLOW_HEADERS)
    assert CORS._allowed_origins == list(CORS_ALLOW_ORIGINS)
    assert CORS.expose_headers == list(CORS_EXPOSE_HEADERS)
    assert CORS.max_age == CORS_MAX_AGE_S


REQUIRED_RESPONSES = {
    "UNAUTHORIZED": "401",
    "ACCESS_DENIED": "403",
    "THROTTLED": "429",
    "MISSING_AUTHENTICATION_TOKEN": "404",
    "RESOURCE_NOT_FOUND": "404",
    "DEFAULT_4XX": None,
    "DEFAULT_5XX": None,
}


def test_gateway_responses_use_the_error_shape_and_carry_cors_headers(dev: Synth) -> None:
    found = {
        props(r)["ResponseType"]: props(r) for r in resources(dev.parent, "AWS::ApiGateway::GatewayResponse").values()
    }
    assert set(REQUIRED_RESPONSES) <= set(found)
    for response_type, response in found.items():
        if REQUIRED_RESPONSES.get(response_type):
            assert response["StatusCode"] == REQUIRED_RESPONSES[response_type], response_type
        template = response["ResponseTemplates"]["application/json"]
        # $context.error.messageString is API Gateway's message, already JSON-quoted.
        body = json.loads(template.replace("$context.error.messageString", '"message from API Gateway"'))
        assert set(body) == {"error"}, response_type
        assert set(body["error"]) == {"code", "message", "details"}, response_type
        assert body["error"]["code"].isupper() and body["error"]["details"] == [], response_type
        headers = response["ResponseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'", response_type
        assert "Authorization" in headers["gatewayresponse.header.Access-Control-Allow-Headers"], response_type
    assert "$context" not in found["DEFAULT_5XX"]["ResponseTemplates"]["application/json"], "5xx must not leak"


def test_stage_is_throttled_traced_and_logged(stage: Synth) -> None:
    config = STAGES[stage.stage]
    (api_stage,) = resources(stage.parent, "AWS::ApiGateway::Stage").values()
    p = props(api_stage)
    assert p["StageName"] == config.name
    assert p["TracingEnabled"] is True
    assert "DestinationArn" in p["AccessLogSetting"]
    settings = next(s for s in p["MethodSettings"] if (s["ResourcePath"], s["HttpMethod"]) == ("/*", "*"))
    assert len(p["MethodSettings"]) == 1 + len(config.route_throttles)
    assert settings["ThrottlingRateLimit"] == config.api_rate_limit
    assert settings["ThrottlingBurstLimit"] == config.api_burst_limit
    assert settings["MetricsEnabled"] is True
    assert settings["DataTraceEnabled"] is False


def test_the_deployment_waits_for_every_nested_stack_and_gateway_response(dev: Synth) -> None:
    ((deployment_id, deployment),) = resources(dev.parent, "AWS::ApiGateway::Deployment").items()
    with_methods = [c for c, t in dev.nested.items() if resources(t, "AWS::ApiGateway::Method")]
    assert with_methods
    for context in with_methods:
        assert dev.nested_ids[context] in deployment["DependsOn"]
    for response_id in resources(dev.parent, "AWS::ApiGateway::GatewayResponse"):
        assert response_id in deployment["DependsOn"], "a gateway response created after the deployment is not live"
    (api_stage,) = resources(dev.parent, "AWS::ApiGateway::Stage").values()
    assert props(api_stage)["DeploymentId"] == {"Ref": deployment_id}


def test_a_change_in_a_context_stack_redeploys_the_api() -> None:
    """Methods live in nested stacks, so the parent's deployment must change when any of them does."""
    catalog = next(c for c in PLATFORM.contexts if c.routes)
    changed_route = dataclasses.replace(catalog.routes[0], memory_mb=catalog.routes[0].memory_mb + 256)
    changed = dataclasses.replace(catalog, routes=(changed_route, *catalog.routes[1:]))
    platform = dataclasses.replace(PLATFORM, contexts=tuple(changed if c is catalog else c for c in PLATFORM.contexts))
    before = set(resources(synthesize("dev", nag=False).parent, "AWS::ApiGateway::Deployment"))
    after = set(resources(synthesize("dev", platform, nag=False).parent, "AWS::ApiGateway::Deployment"))
    assert before != after


def test_outputs_name_the_api_pool_client_and_bus(dev: Synth) -> None:
    assert {"ApiUrl", "UserPoolId", "UserPoolClientId", "EventBusName", "ImagesBaseUrl"} <= set(dev.parent["Outputs"])
