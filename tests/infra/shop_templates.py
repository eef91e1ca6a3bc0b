"""Synthesis and template-reading helpers for tests/infra.

The templates are read as plain JSON so the tests check what CloudFormation will receive: a method's path is
rebuilt from the parent template's resource chain (through the nested stack's parameters), its function from the
integration URI, a function's permissions from the policies attached to its role.
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

# The jsii runtime prints Node end-of-life banners on every start; they carry no signal in test output.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, CfnElement, Stack  # after the jsii environment above
from aws_cdk.assertions import Template
from constructs import IConstruct

from functions.shared.wiring import Platform
from infra.app import create_stack
from infra.shop_stack import ShopStack

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_CONTEXT: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]

Json = dict[str, Any]


@dataclass
class Synth:
    """One synthesised stage: the stack objects and every template (parent + one per context)."""

    stage: str
    stack: ShopStack
    outdir: Path
    parent: Json
    nested: dict[str, Json]  # context name -> template
    nested_ids: dict[str, str] = field(default_factory=dict)  # context name -> logical id in the parent

    @property
    def templates(self) -> dict[str, Json]:
        return {"parent": self.parent, **self.nested}

    def nested_parameters(self, context: str) -> dict[str, Any]:
        """The values the parent passes to the context's nested stack, by parameter name."""
        params: dict[str, Any] = self.parent["Resources"][self.nested_ids[context]]["Properties"]["Parameters"]
        return params


def synthesize(stage: str, platform: Platform | None = None, *, nag: bool = True) -> Synth:
    outdir = Path(tempfile.mkdtemp(prefix=f"shop-infra-{stage}-"))
    app = App(context={**CDK_CONTEXT, "stage": stage}, outdir=str(outdir))
    stack = create_stack(app, platform, nag=nag)
    parent = Template.from_stack(stack).to_json()
    nested = {name: Template.from_stack(ctx).to_json() for name, ctx in stack.contexts.items()}
    ids = {name: stack.get_logical_id(cast(CfnElement, c.nested_stack_resource)) for name, c in stack.contexts.items()}
    return Synth(stage, stack, outdir, parent, nested, ids)


def logical_id_of(construct: IConstruct) -> str:
    """The logical id of an L2 construct's CloudFormation resource in its own stack's template."""
    return Stack.of(construct).get_logical_id(cast(CfnElement, construct.node.default_child))


def resources(template: Json, type_: str) -> dict[str, Json]:
    return {k: v for k, v in template.get("Resources", {}).items() if v["Type"] == type_}


def props(resource: Json) -> Json:
    value: Json = resource.get("Properties", {})
    return value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from walk(v)


def get_att_targets(value: Any, attribute: str) -> list[str]:
    return [
        node["Fn::GetAtt"][0]
        for node in walk(value)
        if isinstance(node, dict) and "Fn::GetAtt" in node and node["Fn::GetAtt"][1] == attribute
    ]


# --- the API resource tree ------------------------------------------------------------------------------------------


def api_resource_paths(parent: Json) -> dict[str, str]:
    """Logical id of every ``AWS::ApiGateway::Resource`` in the parent -> its full path."""
    tree = resources(parent, "AWS::ApiGateway::Resource")

    def path_of(logical_id: str) -> str:
        p = props(tree[logical_id])
        parent_id = p["ParentId"]
        prefix = path_of(parent_id["Ref"]) if "Ref" in parent_id else ""  # else: GetAtt RestApi.RootResourceId
        return f"{prefix}/{p['PathPart']}"

    return {logical_id: path_of(logical_id) for logical_id in tree}


@dataclass(frozen=True)
class ApiMethod:
    context: str
    logical_id: str
    http_method: str
    path: str
    function_id: str  # logical id of the integrated function in the same nested template
    authorization_type: str
    authorizer_id: str | None  # logical id of the parent's authorizer, through the nested parameter


def alias_functions(template: Json, value: Any) -> list[str]:
    """The functions behind the ``live`` aliases referenced in ``value`` (a hot route's integration calls its alias)."""
    found = []
    for node in walk(value):
        if isinstance(node, dict) and "Ref" in node:
            target = template["Resources"].get(node["Ref"], {})
            if target.get("Type") == "AWS::Lambda::Alias":
                found.extend(as_list(props(target)["FunctionName"]["Ref"]))
    return found


def api_methods(synth: Synth) -> list[ApiMethod]:
    paths = api_resource_paths(synth.parent)
    found: list[ApiMethod] = []
    for context, template in synth.nested.items():
        params = synth.nested_parameters(context)
        for logical_id, method in resources(template, "AWS::ApiGateway::Method").items():
            p = props(method)
            resource_param = p["ResourceId"]["Ref"]
            path = paths[params[resource_param]["Ref"]]
            targets = get_att_targets(p["Integration"]["Uri"], "Arn") or alias_functions(
                template, p["Integration"]["Uri"]
            )
            assert len(targets) == 1, f"{logical_id}: integration must point at one function"
            authorizer = p.get("AuthorizerId")
            found.append(
                ApiMethod(
                    context=context,
                    logical_id=logical_id,
                    http_method=p["HttpMethod"],
                    path=path,
                    function_id=targets[0],
                    authorization_type=p["AuthorizationType"],
                    authorizer_id=params[authorizer["Ref"]]["Ref"] if authorizer else None,
                )
            )
    return found


# --- functions and their permissions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[Any, ...]


def statements_of(document: Json) -> list[Statement]:
    return [
        Statement(s["Effect"], tuple(as_list(s.get("Action", []))), tuple(as_list(s.get("Resource", []))))
        for s in document.get("Statement", [])
    ]


def function_ids_by_handler_name(synth: Synth) -> dict[str, tuple[str, str]]:
    """Manifest function name -> (context, logical id of its AWS::Lambda::Function)."""
    out: dict[str, tuple[str, str]] = {}
    for context, nested in synth.stack.contexts.items():
        for name, shop_function in nested.functions.items():
            cfn = shop_function.function.node.default_child
            out[name] = (context, Stack.of(shop_function).get_logical_id(cast(CfnElement, cfn)))
    return out


def role_statements(template: Json, function_id: str) -> list[Statement]:
    """Every identity-policy statement that applies to the function's role."""
    role_id = get_att_targets(props(template["Resources"][function_id])["Role"], "Arn")[0]
    found: list[Statement] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in props(policy)["Roles"]:
            found.extend(statements_of(props(policy)["PolicyDocument"]))
    role = props(template["Resources"][role_id])
    assert not role.get("ManagedPolicyArns"), f"{role_id} must not carry managed policies"
    for inline in role.get("Policies", []):
        found.extend(statements_of(inline["PolicyDocument"]))
    return found


def identity_statements(template: Json) -> Iterator[tuple[str, Statement]]:
    for logical_id, policy in resources(template, "AWS::IAM::Policy").items():
        for statement in statements_of(props(policy)["PolicyDocument"]):
            yield logical_id, statement
    for logical_id, policy in resources(template, "AWS::IAM::ManagedPolicy").items():
        for statement in statements_of(props(policy)["PolicyDocument"]):
            yield logical_id, statement
    for logical_id, role in resources(template, "AWS::IAM::Role").items():
        for inline in props(role).get("Policies", []):
            for statement in statements_of(inline["PolicyDocument"]):
                yield logical_id, statement


def resource_policy_statements(template: Json) -> Iterator[tuple[str, Statement]]:
    for type_ in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::Events::EventBusPolicy"):
        for logical_id, policy in resources(template, type_).items():
            for statement in statements_of(props(policy).get("PolicyDocument", {})):
                yield logical_id, statement


# --- cdk-nag ----------------------------------------------------------------------------------------------------------


def nag_findings(outdir: Path) -> list[dict[str, str]]:
    """Rows of every cdk-nag report written for the parent and each nested stack."""
    rows: list[dict[str, str]] = []
    for report in sorted(outdir.glob("AwsSolutions-*-NagReport.csv")):
        with report.open(newline="") as f:
            rows.extend(csv.DictReader(f))
    return rows


SERVICE_WILDCARD = re.compile(r"^[a-z0-9-]+:\*$")
