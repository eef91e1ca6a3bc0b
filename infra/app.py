"""CDK entry point: ``cdk synth -c stage=dev|prod`` (``cdk.json`` runs this file with the venv's Python).

Builds ``Shop-<stage>`` from ``functions.manifest.PLATFORM`` and runs the cdk-nag AWS Solutions checks on it, so a
synth with an unsuppressed finding fails here exactly as in ``tests/infra``. Environment-agnostic: no account or
region, no lookups, so synth needs neither credentials nor network.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

REPO_ROOT = Path(__file__).resolve().parents[1]

if TYPE_CHECKING:
    from aws_cdk import App

    from functions.shared.wiring import Platform
    from infra.shop_stack import ShopStack


def create_stack(app: App, platform: Platform | None = None, *, nag: bool = True) -> ShopStack:
    """The stage's stack in ``app``; the stage comes from the ``stage`` context value (default dev)."""
    from aws_cdk import Aspects
    from cdk_nag import AwsSolutionsChecks

    from infra.config import stage_config
    from infra.shop_stack import ShopStack, stack_name

    if platform is None:
        from functions.manifest import PLATFORM

        platform = PLATFORM
    stage = stage_config(app.node.try_get_context("stage"))
    stack = ShopStack(app, stack_name(stage), stage=stage, platform=platform)
    if nag:
        Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return stack


def main() -> None:
    # Run as a script, Python puts infra/ first on sys.path, where its modules would shadow top-level packages;
    # the repository root is what makes `functions`, `infra` and `local` importable.
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)
    sys.path.insert(0, str(REPO_ROOT))

    from aws_cdk import App

    app = App()
    create_stack(app)
    app.synth()


if __name__ == "__main__":
    main()
