"""`make synth` proven offline: the pinned CDK CLI runs the app from cdk.json, no Docker, no credentials."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from shop_templates import REPO_ROOT

from infra.config import STAGES


def test_cdk_cli_synthesises_prod_offline() -> None:
    outdir = Path(tempfile.mkdtemp(prefix="shop-cli-synth-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "CDK_"))  # no credentials, region or profile: synth must not need them
    }
    env.update(JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1", JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    try:
        result = subprocess.run(
            ["npx", "--no-install", "cdk", "synth", "--quiet", "-c", "stage=prod", "-o", str(outdir)],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        parent = json.loads((outdir / "Shop-prod.template.json").read_text())
        nested = list(outdir.glob("*.nested.template.json"))
        stacks = [r for r in parent["Resources"].values() if r["Type"] == "AWS::CloudFormation::Stack"]
        assert nested and len(nested) == len(stacks)
        (api_stage,) = [r for r in parent["Resources"].values() if r["Type"] == "AWS::ApiGateway::Stage"]
        assert api_stage["Properties"]["StageName"] == STAGES["prod"].name
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
