"""cfn-lint on every synthesised template of both stages: no error and no warning, except W3005 (an explicit
DependsOn that a GetAtt already implies), which CDK writes on purpose for every function's role policy."""

from __future__ import annotations

from pathlib import Path

from cfnlint.api import ManualArgs, lint_file
from shop_templates import Synth

IGNORED = ["W3005"]


def test_the_templates_are_cfn_lint_clean(stage: Synth) -> None:
    templates = sorted(Path(stage.outdir).glob("*.template.json"))
    assert len(templates) > 1
    config = ManualArgs(ignore_checks=IGNORED, regions=["us-east-1"])
    problems = [
        f"{m.rule.id} {template.name}:{m.linenumber} {m.message}"
        for template in templates
        for m in lint_file(template, config)
    ]
    assert problems == []
