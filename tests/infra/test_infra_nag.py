"""cdk-nag's AWS Solutions checks run in the app itself (infra/app.py); here: no unsuppressed error in any stack
of either stage, and every suppression carries a reason specific enough to review."""

from __future__ import annotations

import json

from aws_cdk.assertions import Annotations, Match
from shop_templates import Synth, nag_findings, walk


def test_no_unsuppressed_nag_errors(stage: Synth) -> None:
    errors = Annotations.from_stack(stage.stack).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert not errors, [(e.id, e.entry.data) for e in errors]
    rows = nag_findings(stage.outdir)
    reported_stacks = {p.name for p in stage.outdir.glob("AwsSolutions-*-NagReport.csv")}
    assert len(reported_stacks) == 1 + len(stage.nested), "every stack, nested ones included, must be checked"
    failing = [r for r in rows if r["Compliance"] == "Non-Compliant" and r["Rule Level"] == "Error"]
    assert not failing, failing


def test_every_suppression_has_a_real_reason(stage: Synth) -> None:
    suppressed = [r for r in nag_findings(stage.outdir) if r["Compliance"] == "Suppressed"]
    assert suppressed, "the reports should list the suppressed findings"
    for row in suppressed:
        assert len(row["Exception Reason"]) >= 60, row


def test_wildcard_permission_findings_are_only_suppressed_for_named_resources(stage: Synth) -> None:
    """An IAM5 suppression without appliesTo would hide every future wildcard on that resource."""
    for name, template in stage.templates.items():
        for node in walk(template):
            if isinstance(node, dict) and "rules_to_suppress" in node:
                for rule in node["rules_to_suppress"]:
                    if rule["id"] == "AwsSolutions-IAM5":
                        assert rule.get("applies_to"), f"{name}: {json.dumps(rule)}"
