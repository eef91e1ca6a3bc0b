"""Least privilege, read from the templates: no wildcards where an ARN fits, read handlers cannot write, and every
write permission is one the manifest grants."""

from __future__ import annotations

import re

import pytest
from shop_templates import (
    SERVICE_WILDCARD,
    Statement,
    Synth,
    function_ids_by_handler_name,
    get_att_targets,
    identity_statements,
    resource_policy_statements,
    role_statements,
)

from functions.manifest import PLATFORM
from functions.shared.wiring import Access, Function, Use
from infra.grants import table_actions

# The only actions allowed on Resource "*": X-Ray's PutTraceSegments/PutTelemetryRecords (added by active tracing)
# support no resource-level permissions at all, so "*" is the only possible resource.
STAR_RESOURCE_ALLOWED = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}

WRITE_ACTION = re.compile(
    r"^(dynamodb:(Put|Update|Delete|BatchWrite|TransactWrite)"
    r"|s3:(Put|Delete|Abort|Restore)"
    r"|events:Put"
    r"|cognito-idp:Admin"
    r"|secretsmanager:(Put|Update|Create|Delete|Rotate|Restore)"
    r"|sqs:(SendMessage|DeleteMessage|Purge))"
)
DYNAMODB_WRITE = re.compile(r"^dynamodb:(Put|Update|Delete|BatchWrite|TransactWrite)")


def _function_statements(synth: Synth) -> dict[str, list[Statement]]:
    return {
        name: role_statements(synth.nested[context], function_id)
        for name, (context, function_id) in function_ids_by_handler_name(synth).items()
    }


def _specs() -> dict[str, Function]:
    return {f.name: f for f in PLATFORM.functions}


def _stream_consumers() -> list[Function]:
    return [s for c in PLATFORM.contexts for s in c.stream_consumers]


def test_no_statement_grants_every_action_or_a_whole_service(stage: Synth) -> None:
    for name, template in stage.templates.items():
        for logical_id, statement in identity_statements(template):
            for action in statement.actions:
                assert "*" not in action, f"{name}/{logical_id}: {action}"
        for logical_id, statement in resource_policy_statements(template):
            if statement.effect == "Allow":  # enforce_ssl's Deny on s3:* / sqs:* is a guard, not a grant
                for action in statement.actions:
                    assert action != "*" and not SERVICE_WILDCARD.match(action), f"{name}/{logical_id}: {action}"


def test_no_statement_uses_resource_star_where_an_arn_fits(stage: Synth) -> None:
    for name, template in stage.templates.items():
        for logical_id, statement in identity_statements(template):
            if "*" in statement.resources:
                assert set(statement.actions) <= STAR_RESOURCE_ALLOWED, f"{name}/{logical_id}: {statement.actions}"


def test_read_only_functions_have_no_write_actions(stage: Synth) -> None:
    specs = _specs()
    read_only = [name for name, spec in specs.items() if not spec.writes_anything]
    assert read_only, "the manifest should have read-only functions to check"
    for name, statements in _function_statements(stage).items():
        if name not in read_only:
            continue
        listed = {a for u in specs[name].uses for a in u.actions}  # read-only Cognito actions, e.g. AdminGetUser
        writes = {a for s in statements for a in s.actions if WRITE_ACTION.match(a)} - listed
        if specs[name] in _stream_consumers():
            writes -= {"sqs:SendMessage"}  # reporting a failed batch to its own failure queue
        assert not writes, f"{name} is read-only in the manifest but may {sorted(writes)}"


def test_table_writes_only_where_the_manifest_grants_them(stage: Synth) -> None:
    specs = _specs()
    for name, statements in _function_statements(stage).items():
        spec = specs[name]
        writable_tables = {u.name for u in spec.uses if u.kind == "table" and u.access is Access.WRITE}
        written = {a for s in statements for a in s.actions if DYNAMODB_WRITE.match(a)}
        assert bool(written) == bool(writable_tables), name
        readable = {u.name for u in spec.uses if u.kind == "table"}
        touched = {a.split(":")[0] for s in statements for a in s.actions}
        assert ("dynamodb" in touched) == bool(readable or spec in _stream_consumers()), name


def test_table_grants_name_the_table_and_its_indexes_not_a_wildcard(dev: Synth) -> None:
    for name, statements in _function_statements(dev).items():
        for statement in statements:
            if any(a.startswith("dynamodb:") for a in statement.actions):
                for resource in statement.resources:
                    text = str(resource)
                    assert "index/*" not in text, f"{name}: {resource}"
                    assert get_att_targets(resource, "Arn") or get_att_targets(resource, "StreamArn"), name


def test_cognito_actions_are_exactly_the_listed_ones_on_the_pool(stage: Synth) -> None:
    specs = _specs()
    for name, statements in _function_statements(stage).items():
        listed = {a for u in specs[name].uses if u.kind == "userpool" for a in u.actions}
        granted = {a for s in statements for a in s.actions if a.startswith("cognito-idp:")}
        assert granted == listed, name
        for statement in statements:
            if any(a.startswith("cognito-idp:") for a in statement.actions):
                assert len(statement.resources) == 1 and "Ref" in statement.resources[0], name


def test_events_and_objects_are_written_only_by_functions_granted_to(stage: Synth) -> None:
    specs = _specs()
    for name, statements in _function_statements(stage).items():
        uses = specs[name].uses
        actions = {a for s in statements for a in s.actions}
        publishes = any(u.kind == "bus" and u.access is Access.WRITE for u in uses)
        assert ("events:PutEvents" in actions) == publishes, name
        uploads = any(u.kind == "bucket" and u.access is Access.WRITE for u in uses)
        assert ("s3:PutObject" in actions) == uploads, name
        reads_objects = any(u.kind == "bucket" and u.access is Access.READ for u in uses)
        # A presigned upload is signed for PutObject only; reading objects back needs a READ use of its own.
        assert ("s3:GetObject" in actions) == reads_objects, name
        assert {a for a in actions if a.startswith("s3:")} <= {"s3:GetObject", "s3:PutObject"}, name
        reads_secret = any(u.kind == "secret" for u in uses)
        assert ("secretsmanager:GetSecretValue" in actions) == reads_secret, name


def test_functions_write_logs_only_to_their_own_log_group(dev: Synth) -> None:
    functions = function_ids_by_handler_name(dev)
    for name, statements in _function_statements(dev).items():
        context, function_id = functions[name]
        log_group = dev.nested[context]["Resources"][function_id]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        for statement in statements:
            if any(a.startswith("logs:") for a in statement.actions):
                assert set(statement.actions) == {"logs:CreateLogStream", "logs:PutLogEvents"}, name
                assert [get_att_targets(r, "Arn") for r in statement.resources] == [[log_group]], name


TABLE_READS = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
TABLE_WRITES = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
}
STREAM_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}


def test_table_grants_are_exactly_the_item_actions_of_the_declared_access(stage: Synth) -> None:
    """READ: GetItem, BatchGetItem, Query (Query alone on indexes); WRITE adds the item writes and ConditionCheckItem
    (transactions are authorised per item). Scan, DescribeTable and the rest only where a use lists them."""
    specs = _specs()
    checked = set()
    for name, statements in _function_statements(stage).items():
        spec = specs[name]
        table_uses = [u for u in spec.uses if u.kind == "table"]
        granted = {a for s in statements for a in s.actions if a.startswith("dynamodb:")} - STREAM_ACTIONS
        listed = {a for u in table_uses for a in u.actions}
        if not table_uses:
            assert not granted, name
            continue
        expected = listed | {
            a
            for u in table_uses
            if not u.actions
            for a in (TABLE_READS | TABLE_WRITES if u.access is Access.WRITE else TABLE_READS)
        }
        assert granted == expected, name
        if "dynamodb:Scan" not in listed:
            assert "dynamodb:Scan" not in granted, f"{name} may scan without declaring it"
        assert "dynamodb:DescribeTable" in listed or "dynamodb:DescribeTable" not in granted, name
        checked.add(spec.writes_anything)
        for statement in statements:
            on_index = any("/index/" in str(r) for r in statement.resources)
            if on_index and not listed:
                assert set(statement.actions) == {"dynamodb:Query"}, name
    assert checked == {True, False}, "the manifest should have read-only and writing table users to check"


def test_no_function_may_scan_unless_its_manifest_says_so(stage: Synth) -> None:
    specs = _specs()
    for name, statements in _function_statements(stage).items():
        declared = any("dynamodb:Scan" in u.actions for u in specs[name].uses)
        scans = any("dynamodb:Scan" in s.actions for s in statements)
        assert scans == declared, name


def test_explicit_table_actions_replace_the_defaults_and_stay_within_the_access() -> None:
    rebuild = Use("table:catalog", Access.READ, ("dynamodb:Scan", "dynamodb:GetItem"))
    assert table_actions(rebuild) == (["dynamodb:GetItem", "dynamodb:Scan"], ["dynamodb:Scan"])
    assert table_actions(Use("table:catalog", Access.READ)) == (
        ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"],
        ["dynamodb:Query"],
    )
    for bad in (
        Use("table:catalog", Access.READ, ("dynamodb:Scan", "dynamodb:PutItem")),  # a write on a READ use
        Use("table:catalog", Access.READ, ("dynamodb:*",)),
        Use("table:catalog", Access.WRITE, ("s3:GetObject",)),
        Use("table:catalog", Access.READ, ("Scan",)),  # IAM names carry their service prefix
    ):
        with pytest.raises(ValueError):
            table_actions(bad)
