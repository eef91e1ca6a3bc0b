"""The Lambda factory in the templates: runtime, architecture, tracing, Powertools settings, log retention, the
environment each function gets from its manifest ``uses``, and the code asset it ships."""

from __future__ import annotations

import importlib.util
import marshal
import tempfile
from pathlib import Path

from shop_templates import Synth, function_ids_by_handler_name, props, resources

from functions.manifest import PLATFORM
from functions.shared.wiring import Consumer, env_names
from infra.components.code import FUNCTIONS_DIR, powertools_layer_parameter, ships_bytecode, stage_functions
from infra.config import STAGES
from infra.context_stack import is_public
from infra.grants import PUBLIC_BASE_URL_ENV

RETENTION_DAYS = {"dev": 7, "prod": 90}


def test_every_manifest_function_is_made_by_the_factory(stage: Synth) -> None:
    config = STAGES[stage.stage]
    functions = function_ids_by_handler_name(stage)
    assert set(functions) == {f.name for f in PLATFORM.functions}
    for spec in PLATFORM.functions:
        context, function_id = functions[spec.name]
        template = stage.nested[context]
        p = props(template["Resources"][function_id])
        assert p["Runtime"] == "python3.11"
        assert p["Architectures"] == ["arm64"]
        assert p["TracingConfig"] == {"Mode": "Active"}
        assert p["Handler"] == spec.handler
        assert (p["MemorySize"], p["Timeout"]) == (spec.memory_mb, spec.timeout_s)
        assert p["Layers"] == [f"{{{{resolve:ssm:{powertools_layer_parameter()}}}}}"]
        env = p["Environment"]["Variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] == context
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Shop"
        assert env["POWERTOOLS_LOG_LEVEL"] == config.log_level
        assert env["STAGE"] == config.name
        log_group = template["Resources"][p["LoggingConfig"]["LogGroup"]["Ref"]]
        assert props(log_group)["RetentionInDays"] == RETENTION_DAYS[stage.stage]


def test_no_stray_python_functions(dev: Synth) -> None:
    """Every Python function in the app is a manifest function (the only other one is CDK's bucket emptier)."""
    python = [
        logical_id
        for template in dev.nested.values()
        for logical_id, f in resources(template, "AWS::Lambda::Function").items()
        if str(props(f).get("Runtime", "")).startswith("python")
    ]
    assert sorted(python) == sorted(fid for _, fid in function_ids_by_handler_name(dev).values())


def _parent_ref(synth: Synth, context: str, value: object) -> str:
    """What an env value points at in the parent stack, through the nested stack's parameter."""
    assert isinstance(value, dict) and "Ref" in value, value
    passed = synth.nested_parameters(context)[value["Ref"]]
    assert isinstance(passed, dict) and "Ref" in passed, passed
    ref: str = passed["Ref"]
    return ref


def test_each_function_learns_exactly_the_resources_it_uses(dev: Synth) -> None:
    functions = function_ids_by_handler_name(dev)
    parent = dev.parent["Resources"]
    public = {b.name for b in PLATFORM.buckets if is_public(b)}
    for spec in PLATFORM.functions:
        context, function_id = functions[spec.name]
        template = dev.nested[context]
        env = props(template["Resources"][function_id])["Environment"]["Variables"]
        expected = {name for use in spec.uses for name in env_names(use.resource)}
        if any(u.kind == "bucket" and u.name in public for u in spec.uses):
            expected.add(PUBLIC_BASE_URL_ENV)  # the CDN in front of it (test_infra_data checks the value)
        if isinstance(spec, Consumer) and spec.timer:
            expected.add("CONSUMER_QUEUE_URL")  # its own queue, to postpone what is not due yet
        expected |= set(PLATFORM.context_of(spec).settings)  # the shop settings of its context, per stage
        own = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL", "STAGE"}
        assert set(env) - own - {"POWERTOOLS_TRACER_CAPTURE_RESPONSE"} == expected, spec.name
        for use in spec.uses:
            names = env_names(use.resource)
            if use.kind == "table":
                table = template["Resources"][env[names[0]]["Ref"]]
                assert table["Type"] == "AWS::DynamoDB::Table"
            elif use.kind == "bucket":
                assert template["Resources"][env[names[0]]["Ref"]]["Type"] == "AWS::S3::Bucket"
            elif use.kind == "secret":
                assert parent[_parent_ref(dev, context, env[names[0]])]["Type"] == "AWS::SecretsManager::Secret"
            elif use.kind == "bus":
                assert parent[_parent_ref(dev, context, env[names[0]])]["Type"] == "AWS::Events::EventBus"
            elif use.kind == "userpool":
                pool, client = (parent[_parent_ref(dev, context, env[n])]["Type"] for n in names)
                assert (pool, client) == ("AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient")


def _asset_dir(synth: Synth) -> Path:
    functions = function_ids_by_handler_name(synth)
    context, function_id = next(iter(functions.values()))
    key = props(synth.nested[context]["Resources"][function_id])["Code"]["S3Key"]
    return synth.outdir / f"asset.{key.removesuffix('.zip')}"


def test_the_code_asset_is_only_the_functions_package(dev: Synth) -> None:
    asset = _asset_dir(dev)
    assert [p.name for p in asset.iterdir()] == ["functions"]
    sources = sorted(p.relative_to(asset / "functions") for p in (asset / "functions").rglob("*.py"))
    assert sources == sorted(p.relative_to(FUNCTIONS_DIR) for p in FUNCTIONS_DIR.rglob("*.py"))
    keys = {
        props(f)["Code"]["S3Key"]
        for t in dev.nested.values()
        for f in resources(t, "AWS::Lambda::Function").values()
        if str(props(f).get("Runtime", "")).startswith("python")
    }
    assert len(keys) == 1, "every function should ship the same asset"


def test_shipped_bytecode_is_compiled_for_the_runtime_and_never_checked_against_sources(dev: Synth) -> None:
    asset = _asset_dir(dev) / "functions"
    compiled = list(asset.rglob("*.pyc"))
    if not ships_bytecode():
        assert compiled == [], "bytecode from another Python version must not ship"
        return
    assert set(compiled) == {p.parent / "__pycache__" / f"{p.stem}.cpython-311.pyc" for p in asset.rglob("*.py")}
    for pyc in compiled:
        data = pyc.read_bytes()
        assert data[:4] == importlib.util.MAGIC_NUMBER, pyc
        # PEP 552 flags: 0b01 = hash-based and not checked (zip timestamps are fixed; /var/task is read-only).
        assert int.from_bytes(data[4:8], "little") == 0b01, pyc
        code = marshal.loads(data[16:])
        assert code.co_filename.startswith("/var/task/functions/"), code.co_filename


def test_staging_is_deterministic_and_leaves_local_caches_behind() -> None:
    first, second = (stage_functions(Path(tempfile.mkdtemp()), compile_bytecode=ships_bytecode()) for _ in range(2))
    files_a = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel
    plain = stage_functions(Path(tempfile.mkdtemp()), compile_bytecode=False)
    assert not list(plain.rglob("*.pyc")) and not list(plain.rglob("__pycache__"))
