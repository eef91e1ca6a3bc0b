"""The audit log is append-only in IAM too: no policy in any stack lets anything update or delete an entry; the
recorder may only PutItem, the list route only read; entries expire through the TTL attribute alone."""

from __future__ import annotations

import re

from shop_templates import (
    Synth,
    function_ids_by_handler_name,
    get_att_targets,
    identity_statements,
    logical_id_of,
    props,
    role_statements,
)

from functions.audit.manifest import TABLE

# Anything that changes or removes an item, or a wildcard that would include it.
CHANGES_ENTRIES = re.compile(r"^(\*|dynamodb:(\*|.*Update.*|.*Delete.*|BatchWrite.*|PartiQL.*|Transact.*|Restore.*))$")


def _audit_table_id(synth: Synth) -> str:
    return logical_id_of(synth.stack.contexts["audit"].tables[TABLE.name])


def test_no_policy_anywhere_may_update_or_delete_audit_entries(stage: Synth) -> None:
    table_id = _audit_table_id(stage)
    checked = 0
    for name, template in stage.templates.items():
        for logical_id, statement in identity_statements(template):
            on_table = table_id in get_att_targets(list(statement.resources), "Arn") or any(
                r == "*" for r in statement.resources
            )
            if not on_table or statement.effect != "Allow":
                continue
            checked += 1
            changes = [a for a in statement.actions if CHANGES_ENTRIES.match(a)]
            assert not changes, f"{name}/{logical_id} may {changes} on the audit table"
    assert checked >= 2, "the recorder and the list route should both hold a grant on the audit table"
    table = props(stage.nested["audit"]["Resources"][table_id])
    assert "ResourcePolicy" not in table
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_the_recorder_may_only_put_and_the_list_route_only_read(stage: Synth) -> None:
    table_id = _audit_table_id(stage)
    functions = function_ids_by_handler_name(stage)
    granted: dict[str, set[str]] = {}
    for fn, (context, function_id) in functions.items():
        for statement in role_statements(stage.nested[context], function_id):
            if table_id in get_att_targets(list(statement.resources), "Arn"):
                granted.setdefault(fn, set()).update(a for a in statement.actions if a.startswith("dynamodb:"))
    assert granted == {
        "AuditRecorder": {"dynamodb:PutItem"},
        "ListAuditEntries": {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"},
    }
