"""Stage selection and the pins the app derives from the repository (no network, no synthesis)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
from aws_cdk import App
from shop_templates import CDK_CONTEXT

from infra.app import create_stack
from infra.components.code import powertools_layer_parameter, powertools_version, runtime_python_version
from infra.config import DEFAULT_STAGE, UnknownStageError, stage_config


def test_the_stage_defaults_to_dev_and_unknown_stages_are_refused() -> None:
    assert stage_config(None).name == DEFAULT_STAGE == "dev"
    assert stage_config("prod").name == "prod"
    with pytest.raises(UnknownStageError, match="dev, prod"):
        stage_config("qa")
    with pytest.raises(UnknownStageError):
        create_stack(App(context={**CDK_CONTEXT, "stage": "staging"}), nag=False)


def test_cdk_json_defaults_to_dev() -> None:
    assert CDK_CONTEXT["stage"] == "dev"


def test_the_layer_is_the_powertools_version_the_tests_run_against() -> None:
    assert powertools_version() == importlib.metadata.version("aws-lambda-powertools")
    assert powertools_layer_parameter() == f"/aws/service/powertools/python/arm64/python3.11/{powertools_version()}"
    assert runtime_python_version() == (3, 11)


def test_an_unpinned_powertools_is_refused(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["aws-lambda-powertools>=3"]\n')
    with pytest.raises(ValueError, match="pin"):
        powertools_version.__wrapped__(pyproject)
