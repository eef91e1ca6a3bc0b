"""What every function runs: the ``functions/`` package as one code asset, and the Powertools layer for its
dependencies.

Code asset
    Only ``functions/`` is staged (DESIGN.md §8), copied without caches into a fresh directory so a developer's
    stale ``__pycache__`` never ships. When this interpreter is the runtime's Python version, the package is
    compiled to bytecode there: cold starts skip compiling every module (DESIGN.md §8). The bytecode is hash-based
    and unchecked, because CDK zips assets with fixed timestamps, which would make timestamp-based ``.pyc`` files
    look stale in Lambda (and ``/var/task`` is read-only, so they could never be rewritten). Paths inside the
    bytecode point at ``/var/task`` so tracebacks in CloudWatch show real paths and the asset hash does not depend
    on the temporary directory. Another interpreter version ships sources only: never bytecode Lambda would ignore.

Dependencies
    Nothing from PyPI is bundled (no Docker at synth, DESIGN.md §8); boto3 comes from the runtime. Powertools and
    its extras come from the official public layer ``AWSLambdaPowertoolsPythonV3-python311-arm64``, which is built
    with ``aws-lambda-powertools[all]`` and therefore contains pydantic v2, jsonpath-ng, aws-xray-sdk and
    fastjsonschema. Its ARN is resolved at deploy time from the public SSM parameter Powertools publishes per
    version (``/aws/service/powertools/python/arm64/python3.11/<version>``) through a CloudFormation dynamic
    reference, so synth needs neither credentials nor lookups, and the version is the one pinned in
    ``pyproject.toml``, so the cloud runs what the tests ran.
"""

from __future__ import annotations

import atexit
import compileall
import py_compile
import re
import shutil
import sys
import tempfile
import tomllib
from functools import cache
from pathlib import Path

from aws_cdk import CfnDynamicReference, CfnDynamicReferenceService, Token
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"
PYPROJECT = REPO_ROOT / "pyproject.toml"

RUNTIME = lambda_.Runtime.PYTHON_3_11
ARCHITECTURE = lambda_.Architecture.ARM_64
LAMBDA_TASK_ROOT = "/var/task"

_IGNORED = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "*.pyo", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".DS_Store"
)


def runtime_python_version(runtime: lambda_.Runtime = RUNTIME) -> tuple[int, int]:
    match = re.fullmatch(r"python(\d+)\.(\d+)", runtime.name)
    if not match:
        raise ValueError(f"{runtime.name} is not a Python runtime")
    return int(match.group(1)), int(match.group(2))


def ships_bytecode(runtime: lambda_.Runtime = RUNTIME) -> bool:
    """Bytecode is only worth shipping when it was compiled by the runtime's own Python version."""
    return sys.version_info[:2] == runtime_python_version(runtime)


def stage_functions(destination: Path, *, compile_bytecode: bool) -> Path:
    """Copy ``functions/`` under ``destination`` (which becomes the asset root) and optionally compile it."""
    target = destination / FUNCTIONS_DIR.name
    shutil.copytree(FUNCTIONS_DIR, target, ignore=_IGNORED)
    if compile_bytecode:
        ok = compileall.compile_dir(
            target,
            ddir=f"{LAMBDA_TASK_ROOT}/{FUNCTIONS_DIR.name}",
            quiet=1,
            optimize=0,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        if not ok:
            raise RuntimeError(f"functions/ does not compile with Python {sys.version.split()[0]}")
    return destination


@cache
def staged_code_dir() -> Path:
    """Stage once per process: every stack of every stage shares the same bytes (and so the same asset hash)."""
    root = Path(tempfile.mkdtemp(prefix="shop-functions-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return stage_functions(root, compile_bytecode=ships_bytecode())


def function_code() -> lambda_.Code:
    """A new ``Code`` per stack (CDK binds an asset to one stack); the staged directory is shared."""
    return lambda_.Code.from_asset(str(staged_code_dir()))


@cache
def powertools_version(pyproject: Path = PYPROJECT) -> str:
    """The exact Powertools version pinned in ``pyproject.toml`` (the layer must match what tests run against)."""
    with pyproject.open("rb") as f:
        dependencies: list[str] = tomllib.load(f)["project"]["dependencies"]
    for requirement in dependencies:
        match = re.fullmatch(r"aws-lambda-powertools(?:\[[^\]]*\])?==([0-9][0-9A-Za-z.]*)", requirement.strip())
        if match:
            return match.group(1)
    raise ValueError(f"{pyproject} must pin aws-lambda-powertools with == so the layer version is known")


def powertools_layer_parameter(runtime: lambda_.Runtime = RUNTIME) -> str:
    return f"/aws/service/powertools/python/{ARCHITECTURE.name}/{runtime.name}/{powertools_version()}"


def powertools_layer(scope: Construct, construct_id: str = "PowertoolsLayer") -> lambda_.ILayerVersion:
    arn = CfnDynamicReference(CfnDynamicReferenceService.SSM, powertools_layer_parameter())
    return lambda_.LayerVersion.from_layer_version_arn(scope, construct_id, Token.as_string(arn))
