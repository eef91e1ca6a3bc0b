"""The partner API in the synthesised templates: the REQUEST authorizer in front of every partner method, usage plans
fed by the authorizer's API key, 429s that say when to retry, and the partners key used only as far as granted."""

from __future__ import annotations

from typing import Any

from shop_templates import (
    Statement,
    Synth,
    api_methods,
    function_ids_by_handler_name,
    get_att_targets,
    identity_statements,
    props,
    resources,
    role_statements,
    walk,
)

from functions.manifest import PLATFORM
from functions.partners.manifest import KEY, TABLE

PARTNER_ROUTES = [r for r in PLATFORM.routes if r.is_partner]
ENCRYPTING = {"kms:Encrypt", "kms:*", "kms:Encrypt*", "*"}


def partner_authorizer(synth: Synth) -> dict[str, Any]:
    (authorizer,) = [
        props(a)
        for a in resources(synth.parent, "AWS::ApiGateway::Authorizer").values()
        if props(a)["Type"] == "REQUEST"
    ]
    return authorizer


def the_one(template: dict[str, Any], type_: str) -> str:
    (logical_id,) = resources(template, type_)
    return logical_id


def test_the_request_authorizer_caches_nothing_needs_the_four_signing_headers_and_calls_the_partner_authorizer(
    dev: Synth,
) -> None:
    authorizer = partner_authorizer(dev)
    assert authorizer["AuthorizerResultTtlInSeconds"] == 0
    sources = authorizer["IdentitySource"].split(",")
    assert sources == [f"method.request.header.{h}" for h in ("X-App-Key", "X-Timestamp", "X-Nonce", "X-Signature")]

    context, function_id = function_ids_by_handler_name(dev)["PartnerAuthorizer"]
    ((nested_id, output),) = {tuple(n["Fn::GetAtt"]) for n in walk(authorizer["AuthorizerUri"]) if _is_get_att(n)}
    assert nested_id == dev.nested_ids[context]
    value = dev.nested[context]["Outputs"][output.removeprefix("Outputs.")]["Value"]
    assert get_att_targets(value, "Arn") == [function_id]
    handler = props(dev.nested[context]["Resources"][function_id])["Handler"]
    assert handler == "functions.partners.handlers.authorizer.handler"


def _is_get_att(node: Any) -> bool:
    return isinstance(node, dict) and "Fn::GetAtt" in node


def test_usage_plans_meter_the_key_the_authorizer_names_and_only_partner_methods_need_one(dev: Synth) -> None:
    api = props(dev.parent["Resources"][the_one(dev.parent, "AWS::ApiGateway::RestApi")])
    assert api["ApiKeySourceType"] == "AUTHORIZER"
    authorizer_id = next(
        i for i, a in resources(dev.parent, "AWS::ApiGateway::Authorizer").items() if props(a)["Type"] == "REQUEST"
    )
    assert PARTNER_ROUTES, "no partner route in the manifest to check"
    partner_keys = {r.key for r in PARTNER_ROUTES}
    for method in api_methods(dev):
        declared = props(dev.nested[method.context]["Resources"][method.logical_id])
        if (method.http_method, method.path) in partner_keys:
            assert (method.authorization_type, method.authorizer_id) == ("CUSTOM", authorizer_id), method.path
            assert declared.get("ApiKeyRequired") is True, method.path
        else:
            assert not declared.get("ApiKeyRequired"), f"{method.http_method} {method.path} needs an API key"
    assert {(m.http_method, m.path) for m in api_methods(dev)} >= partner_keys


def test_throttled_and_quota_exceeded_answer_429_with_retry_after(dev: Synth) -> None:
    found = {
        props(r)["ResponseType"]: props(r) for r in resources(dev.parent, "AWS::ApiGateway::GatewayResponse").values()
    }
    for response_type in ("THROTTLED", "QUOTA_EXCEEDED"):
        response = found[response_type]
        assert response["StatusCode"] == "429", response_type
        retry_after = response["ResponseParameters"]["gatewayresponse.header.Retry-After"]
        assert retry_after.strip("'").isdigit() and int(retry_after.strip("'")) > 0, response_type


def test_the_partners_key_rotates(dev: Synth) -> None:
    keys = resources(dev.nested["partners"], "AWS::KMS::Key")
    assert len(keys) == len([k for k in PLATFORM.keys if k.name == KEY.name]) == 1
    (key,) = keys.values()
    assert props(key)["EnableKeyRotation"] is True


def test_the_authorizer_may_only_read_and_put_items_of_the_partners_table_and_decrypt(dev: Synth) -> None:
    context, function_id = function_ids_by_handler_name(dev)["PartnerAuthorizer"]
    template = dev.nested[context]
    (table_id,) = resources(template, "AWS::DynamoDB::Table")
    (key_id,) = resources(template, "AWS::KMS::Key")
    assert TABLE.name == "partners"
    granted: dict[str, set[str]] = {}
    for statement in role_statements(template, function_id):
        assert statement.effect == "Allow"
        for action in statement.actions:
            granted.setdefault(action.split(":")[0], set()).add(action)
        if any(a.startswith("dynamodb:") for a in statement.actions):
            assert set(statement.actions) == {"dynamodb:GetItem", "dynamodb:PutItem"}
            assert get_att_targets(statement.resources, "Arn") == [table_id] and len(statement.resources) == 1
        if any(a.startswith("kms:") for a in statement.actions):
            assert set(statement.actions) == {"kms:Decrypt"}
            assert get_att_targets(statement.resources, "Arn") == [key_id] and len(statement.resources) == 1
    assert granted.pop("dynamodb") == {"dynamodb:GetItem", "dynamodb:PutItem"}
    assert granted.pop("kms") == {"kms:Decrypt"}
    assert granted.pop("logs") == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert all(a.startswith("xray:Put") for a in granted.pop("xray", set()))
    assert granted == {}, f"the authorizer may also use {sorted(granted)}"


def _encrypts(statement: Statement) -> bool:
    return statement.effect == "Allow" and bool(ENCRYPTING & set(statement.actions))


def test_only_the_partner_routes_that_make_secrets_may_encrypt_with_the_key(dev: Synth) -> None:
    expected = {
        f.name for f in PLATFORM.functions if any(u.resource == KEY.ref and "kms:Encrypt" in u.actions for u in f.uses)
    }
    assert expected == {"CreatePartner", "RotatePartnerSecret"}
    functions = function_ids_by_handler_name(dev)
    encrypting = {
        name
        for name, (context, function_id) in functions.items()
        if any(_encrypts(s) for s in role_statements(dev.nested[context], function_id))
    }
    assert encrypting == expected
    roles_of_expected = {
        (context, get_att_targets(props(dev.nested[context]["Resources"][function_id])["Role"], "Arn")[0])
        for name, (context, function_id) in functions.items()
        if name in expected
    }
    for template_name, template in dev.templates.items():
        for logical_id, statement in identity_statements(template):
            if not _encrypts(statement):
                continue
            attached = props(template["Resources"][logical_id]).get("Roles", [])
            assert attached and all((template_name, r.get("Ref")) in roles_of_expected for r in attached), (
                f"{template_name}/{logical_id} lets another role encrypt"
            )
