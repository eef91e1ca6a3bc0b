"""Cold start per handler, against the boto3 floor measured in the same run.

For every function in the manifest (``PLATFORM``), the primary scenario of ``bench.scenarios`` gives a request that
succeeds against seeded data. Each sample is a fresh Python process (a cold Lambda container) that loads the event,
then starts the clock, imports the handler module, calls ``handler(event, context)`` once and stops the clock:
import + initialisation + first call, including client creation and the round trips to the local moto server.
Interpreter start-up is outside the clock, as is reading the event. A first call that does not succeed (non-2xx,
batch item failures, an exception) is not a sample: it is reported as an error.

The floor is a fresh process that only does ``import boto3; boto3.client("dynamodb")`` under the same clock and
environment; floor runs are interleaved with handler runs (every ``--floor-every`` handler runs) in a shuffled order
per round, so drift and noise hit both alike. ratio = handler median / floor median; the goal is <= 1.3. The
``paired`` column (median over runs of each run over the floor runs just before and after it) is a noise check.
``--references`` (on by default) also times the floor plus common building blocks (Powertools Logger, pydantic,
the REST resolver), which shows what a handler within the goal can afford.

Bytecode: ``functions/`` is compiled first (Lambda gets shipped ``.pyc``) and children run without
``PYTHONDONTWRITEBYTECODE``. One extra run per handler under ``python -X importtime`` (not timed) says what the
import time is spent on; it also warms the page cache before the timed rounds.

Run: ``PYTHONPATH=. .venv/bin/python bench/cold_start.py [--runs 7] [--only GetProduct,ListProducts]``.
Prints a table and writes ``bench/results/cold_start.json``. See bench/README.md for how to read it.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable without PYTHONPATH
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Bench, LocalAws, child_base_env, describe, outcome, select_functions
from bench.report import REPO_ROOT, load_warning, machine, median, ms, p90, table, write_json
from bench.scenarios import Scenario, primary_for, seed_all, unknown_functions
from functions.manifest import PLATFORM
from functions.shared.wiring import Function

GOAL_RATIO = 1.3
CHILD_TIMEOUT_S = 120
RESULT_MARK = "BENCH-RESULT "
IMPORT_MARK = "BENCH-PHASE import"
CALL_MARK = "BENCH-PHASE call"
FIRST_PARTY = ("functions",)

# The measured child. Everything before t0 is what the Lambda runtime has done before it imports the handler
# (interpreter start-up, reading the event); json/time/sys are loaded in the floor child too.
HANDLER_CHILD = f"""
import json, os, sys, time
module, attribute, event_path, mode = sys.argv[1:5]
with open(event_path, encoding="utf-8") as f:
    event = json.load(f)

class Context:
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "bench")
    function_version = "$LATEST"
    memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"))
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "bench"
    def __init__(self):
        self._deadline = time.monotonic() + 30
    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))

context = Context()
response = error = None
if mode == "importtime":
    sys.stderr.write("\\n{IMPORT_MARK}\\n"); sys.stderr.flush()
t0 = time.perf_counter()
try:
    __import__(module)
    handler = getattr(sys.modules[module], attribute)
except BaseException as exc:
    handler, error = None, "import failed: " + type(exc).__name__ + ": " + str(exc)
t1 = time.perf_counter()
if mode == "importtime":
    sys.stderr.write("\\n{CALL_MARK}\\n"); sys.stderr.flush()
if handler is not None:
    try:
        response = handler(event, context)
    except BaseException as exc:
        error = type(exc).__name__ + ": " + str(exc)
t2 = time.perf_counter()
print("{RESULT_MARK}" + json.dumps({{"import_ms": (t1 - t0) * 1000, "call_ms": (t2 - t1) * 1000,
      "total_ms": (t2 - t0) * 1000, "response": response, "error": error}}, default=str))
"""


def floor_child(extra: str = "") -> str:
    """The floor child; ``extra`` (top-level code) runs on the clock after the client, for the reference stacks."""
    return f"""
import json, os, sys, time
t0 = time.perf_counter()
import boto3
t1 = time.perf_counter()
boto3.client("dynamodb")
{extra}
t2 = time.perf_counter()
print("{RESULT_MARK}" + json.dumps({{"import_ms": (t1 - t0) * 1000, "call_ms": (t2 - t1) * 1000,
      "total_ms": (t2 - t0) * 1000, "response": None, "error": None}}))
"""


FLOOR_CHILD = floor_child()

# --references: what the usual building blocks cost on top of the floor, measured the same way, so the team can see
# what a handler that must stay within the goal can afford.
_SMALL_MODEL = """
from pydantic import BaseModel
class Money(BaseModel):
    amount: int
    currency: str
class Variant(BaseModel):
    sku: str
    options: dict[str, str]
    price: Money
class Product(BaseModel):
    product_id: str
    name: str
    variants: list[Variant]
    version: int
Product.model_validate({"product_id": "p", "name": "n", "version": 1,
    "variants": [{"sku": "s", "options": {}, "price": {"amount": 1, "currency": "CNY"}}]}).model_dump_json()
"""
_RESOLVER = """
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
APIGatewayRestResolver(enable_validation=True)
"""
REFERENCES: dict[str, str] = {
    "floor + Powertools Logger": "from aws_lambda_powertools import Logger\nLogger()",
    "floor + pydantic (3 small models, one validate + dump)": _SMALL_MODEL,
    "floor + pydantic + Powertools REST resolver (validation on)": _SMALL_MODEL + _RESOLVER,
}


# --- running children --------------------------------------------------------------------------------------------


@dataclass
class ChildResult:
    total_ms: float = 0.0
    import_ms: float = 0.0
    call_ms: float = 0.0
    error: str | None = None
    stderr: str = ""
    seq: int = -1  # position in the run's sequence of timed children (to pair a sample with its nearest floors)


def run_child(code: str, args: Sequence[str], env: dict[str, str], importtime: bool = False) -> ChildResult:
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", code, *args]
    try:
        done = subprocess.run(
            command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return ChildResult(error=f"timed out after {CHILD_TIMEOUT_S} s")
    line = next((ln for ln in reversed(done.stdout.splitlines()) if ln.startswith(RESULT_MARK)), None)
    if line is None:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return ChildResult(error=f"exit {done.returncode}, no result: {' | '.join(tail)}", stderr=done.stderr)
    data = json.loads(line[len(RESULT_MARK) :])
    error = data["error"] or outcome(data["response"])
    return ChildResult(data["total_ms"], data["import_ms"], data["call_ms"], error, done.stderr)


# --- import-time attribution -------------------------------------------------------------------------------------


@dataclass
class ImportNode:
    name: str
    self_us: int
    cum_us: int
    children: list[ImportNode] = field(default_factory=list)


def parse_importtime(stderr: str) -> dict[str, list[ImportNode]]:
    """The import trees of each phase (``import``: the handler module; ``call``: lazy imports in the first call).

    ``-X importtime`` prints a module after its children (post-order), indented two spaces per level."""
    phases: dict[str, list[ImportNode]] = {"startup": [], "import": [], "call": []}
    phase = "startup"
    pending: dict[int, list[ImportNode]] = defaultdict(list)
    for raw in stderr.splitlines():
        if raw.strip() == IMPORT_MARK:
            phase, pending = "import", defaultdict(list)
            continue
        if raw.strip() == CALL_MARK:
            phase, pending = "call", defaultdict(list)
            continue
        if not raw.startswith("import time:") or "self [us]" in raw:
            continue
        self_us, cum_us, name = raw[len("import time:") :].split("|", 2)
        name = name.rstrip()[1:]  # one space after the bar, then two per level
        depth = (len(name) - len(name.lstrip(" "))) // 2
        node = ImportNode(name.strip(), int(self_us), int(cum_us), pending.pop(depth + 1, []))
        pending[depth].append(node)
        if depth == 0:
            phases[phase].append(node)
    return phases


def _first_party(name: str) -> bool:
    return name.split(".", maxsplit=1)[0] in FIRST_PARTY


def _walk(nodes: Sequence[ImportNode]) -> list[ImportNode]:
    out: list[ImportNode] = []
    stack = list(nodes)
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(node.children)
    return out


# Third-party packages grouped by the dependency that brings them; a standard-library module is charged to the
# group of whoever imported it (asyncio imported by Powertools is Powertools' cost).
STACKS: dict[str, tuple[str, ...]] = {
    "boto3+botocore": ("boto3", "botocore", "s3transfer", "urllib3", "jmespath", "dateutil", "six", "certifi"),
    "pydantic": ("pydantic", "pydantic_core", "annotated_types", "typing_inspection", "typing_extensions"),
    "powertools": ("aws_lambda_powertools", "jsonpath_ng", "aws_xray_sdk", "fastjsonschema", "jmespath_functions"),
    "ours": FIRST_PARTY,
}
MIN_EDGE_MS = 5.0


def stack_of(name: str) -> str | None:
    top = name.split(".", maxsplit=1)[0]
    for label, tops in STACKS.items():
        if top in tops:
            return label
    if top in sys.stdlib_module_names or top.startswith("_"):
        return None
    return f"other:{top}"


def summarise_imports(phases: dict[str, list[ImportNode]], top: int = 5) -> dict[str, Any]:
    """What the import time is spent on: self time by the dependency that caused it (stdlib modules charged to
    their importer), the heaviest imports our modules pull in (cumulative, charged to the first importer), and self
    time by top-level package."""
    edges: list[dict[str, Any]] = []
    by_stack: dict[str, float] = defaultdict(float)
    packages: dict[str, float] = defaultdict(float)

    def charge(node: ImportNode, inherited: str) -> None:
        group = stack_of(node.name) or inherited
        by_stack[group] += node.self_us / 1000
        packages[node.name.split(".")[0]] += node.self_us / 1000
        for child in node.children:
            charge(child, group)

    for phase in ("import", "call"):
        for root in phases[phase]:
            charge(root, "stdlib")
            if not _first_party(root.name):  # imported lazily by library code during the first call
                edges.append({"module": root.name, "ms": root.cum_us / 1000, "imported_by": f"({phase})"})
            for node in _walk([root]):
                if _first_party(node.name):
                    edges.extend(
                        {"module": child.name, "ms": child.cum_us / 1000, "imported_by": node.name}
                        for child in node.children
                        if not _first_party(child.name)
                    )
    edges = sorted((e for e in edges if e["ms"] >= MIN_EDGE_MS), key=lambda e: -e["ms"])
    return {
        "import_phase_ms": round(sum(r.cum_us for r in phases["import"]) / 1000, 1),
        "first_call_imports_ms": round(sum(r.cum_us for r in phases["call"]) / 1000, 1),
        "ms_by_cause": {k: round(v, 1) for k, v in sorted(by_stack.items(), key=lambda kv: -kv[1])},
        "heaviest_imports": [{**e, "ms": round(e["ms"], 1)} for e in edges[:top]],
        "self_ms_by_package": [
            {"package": p, "ms": round(v, 1)} for p, v in sorted(packages.items(), key=lambda kv: -kv[1])[: top + 3]
        ],
        "packages": sorted(packages),
    }


# --- bytecode ----------------------------------------------------------------------------------------------------


def compile_functions() -> None:
    """Lambda gets compiled bytecode for its runtime; this machine's shell says not to write any, so compile here."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "functions"], cwd=REPO_ROOT, env=child_base_env(), check=True
    )


def bytecode_status(packages: set[str]) -> dict[str, Any]:
    """How many source files of the imported packages (and of functions/) have no up-to-date cached .pyc."""
    missing: dict[str, int] = {}
    total = 0
    for name in sorted(packages):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None or spec.origin in (None, "built-in", "frozen"):
            continue
        roots = [Path(p) for p in spec.submodule_search_locations or []] or [Path(str(spec.origin))]
        files = [f for r in roots for f in (r.rglob("*.py") if r.is_dir() else [r]) if f.suffix == ".py"]
        lacking = 0
        for source in files:
            cached = Path(importlib.util.cache_from_source(str(source)))
            if not cached.exists() or cached.stat().st_mtime < source.stat().st_mtime:
                lacking += 1
        total += len(files)
        if lacking:
            missing[name] = lacking
    return {"source_files": total, "without_pyc": missing}


# --- the benchmark -----------------------------------------------------------------------------------------------


@dataclass
class Plan:
    function: Function
    scenario: Scenario | None
    env: dict[str, str] = field(default_factory=dict)
    samples: list[ChildResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    imports: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"  # ok | no scenario | error


def _write_event(directory: Path, plan: Plan, bench: Bench) -> Path | None:
    assert plan.scenario is not None
    try:
        event = plan.scenario.build(bench)
    except Exception as exc:
        plan.errors.append(f"scenario could not be built: {type(exc).__name__}: {exc}")
        return None
    path = directory / f"{plan.function.name}-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    return path


def _child_args(plan: Plan, event_path: Path, mode: str) -> list[str]:
    return [plan.function.module, plan.function.attribute, str(event_path), mode]


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    functions = select_functions(args.only)
    compile_functions()
    plans = [Plan(f, primary_for(f)) for f in functions]
    for plan in plans:
        if plan.scenario is None:
            plan.status = "no scenario"
    rng = random.Random(args.seed)
    floor: list[ChildResult] = []
    floor_errors: list[str] = []
    load_warnings: list[str] = []

    with LocalAws() as aws, tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        directory = Path(tmp)
        bench = Bench(stream_arns=aws.created.stream_arns)
        print(f"moto at {aws.endpoint}; seeding ...", flush=True)
        seed_errors = seed_all(bench)
        for name, error in seed_errors.items():
            print(f"  seeder {name} failed: {error}", flush=True)
        floor_env = aws.floor_env()
        measured = [p for p in plans if p.scenario is not None]
        # Before any child runs (a child may write a missing .pyc): what a container would find.
        bytecode = bytecode_status({name for names in STACKS.values() for name in names})

        # One untimed run per handler under -X importtime: attribution, a check that the scenario succeeds in a
        # fresh process, and a warm page cache for the timed rounds.
        print(f"profiling imports of {len(measured)} handlers ...", flush=True)
        for plan in measured:
            plan.env = aws.function_env(plan.function)
            path = _write_event(directory, plan, bench)
            if path is None:
                plan.status = "error"
                continue
            result = run_child(HANDLER_CHILD, _child_args(plan, path, "importtime"), plan.env, importtime=True)
            if result.error:
                plan.errors.append(f"profiling run: {result.error}")
            plan.imports = summarise_imports(parse_importtime(result.stderr))
        runnable = [p for p in measured if p.status == "ok"]

        print(f"timing {len(runnable)} handlers x {args.runs} runs (+ floor every {args.floor_every}) ...", flush=True)
        since_floor = args.floor_every
        sequence = itertools.count()
        for round_no in range(args.runs):
            order = runnable[:]
            rng.shuffle(order)
            for plan in order:
                if since_floor >= args.floor_every:
                    result = run_child(FLOOR_CHILD, [], floor_env)
                    result.seq = next(sequence)
                    (floor_errors.append(result.error) if result.error else floor.append(result))
                    since_floor = 0
                path = _write_event(directory, plan, bench)
                if path is None:
                    continue
                result = run_child(HANDLER_CHILD, _child_args(plan, path, "timed"), plan.env)
                result.seq = next(sequence)
                since_floor += 1
                if result.error:
                    plan.errors.append(f"run {round_no + 1}: {result.error}")
                else:
                    plan.samples.append(result)
            warning = load_warning()
            if warning:
                load_warnings.append(warning)
            print(f"  round {round_no + 1}/{args.runs} done ({time.monotonic() - started:.0f} s)", flush=True)
        references: dict[str, list[ChildResult]] = {name: [] for name in REFERENCES} if args.references else {}
        if references:
            print(f"timing {len(references)} reference stacks x {args.runs} runs ...", flush=True)
        for _ in range(args.runs if references else 0):
            result = run_child(FLOOR_CHILD, [], floor_env)
            result.seq = next(sequence)
            (floor_errors.append(result.error) if result.error else floor.append(result))
            for name, samples in references.items():
                result = run_child(floor_child(REFERENCES[name]), [], floor_env)
                result.seq = next(sequence)
                if not result.error:
                    samples.append(result)
        # Enough floor samples even for a short --only run.
        while len(floor) < args.runs and len(floor_errors) < args.runs:
            result = run_child(FLOOR_CHILD, [], floor_env)
            result.seq = next(sequence)
            (floor_errors.append(result.error) if result.error else floor.append(result))

    payload = build_payload(args, plans, floor, floor_errors, seed_errors, bytecode, time.monotonic() - started)
    payload["summary"]["load_warnings"] = len(load_warnings)
    floor_median = payload["floor"]["median_ms"]
    ordered_floor = sorted(floor, key=lambda f: f.seq)
    payload["references"] = [
        {
            "reference": name,
            "runs": len(samples),
            "median_ms": round(median([s.total_ms for s in samples]), 1),
            "ratio": round(median([s.total_ms for s in samples]) / floor_median, 2) if floor_median else None,
            "paired_ratio": round(median(paired_ratios(samples, ordered_floor)), 2),
        }
        for name, samples in references.items()
        if samples
    ]
    return payload


def paired_ratios(samples: Sequence[ChildResult], floor: Sequence[ChildResult]) -> list[float]:
    """Each sample over the mean of the floor runs just before and just after it: load that drifts during the run
    (other work on the machine) cancels out of these better than out of the ratio of two medians."""
    ratios = []
    for sample in samples:
        before = [f for f in floor if f.seq < sample.seq]
        after = [f for f in floor if f.seq > sample.seq]
        near = [g[i] for g, i in ((before, -1), (after, 0)) if g]
        if near:
            ratios.append(sample.total_ms / (sum(f.total_ms for f in near) / len(near)))
    return ratios


def build_payload(
    args: argparse.Namespace,
    plans: list[Plan],
    floor: list[ChildResult],
    floor_errors: list[str],
    seed_errors: dict[str, str],
    bytecode: dict[str, Any],
    elapsed_s: float,
) -> dict[str, Any]:
    floor_median = median([s.total_ms for s in floor]) if floor else None
    rows: list[dict[str, Any]] = []
    for plan in plans:
        f = plan.function
        entry: dict[str, Any] = {
            "function": f.name,
            "context": PLATFORM.context_of(f).name,
            "trigger": describe(f),
            "handler": f.handler,
            "scenario": plan.scenario.label if plan.scenario else None,
            "generic_scenario": bool(plan.scenario and plan.scenario.generic),
            "status": plan.status,
            "runs_ok": len(plan.samples),
            "errors": plan.errors,
        }
        if plan.status == "ok" and len(plan.samples) < args.runs:
            entry["status"] = "error" if not plan.samples else "partial"
        if plan.samples:
            totals = [s.total_ms for s in plan.samples]
            entry.update(
                median_ms=round(median(totals), 1),
                p90_ms=round(p90(totals), 1),
                import_median_ms=round(median([s.import_ms for s in plan.samples]), 1),
                first_call_median_ms=round(median([s.call_ms for s in plan.samples]), 1),
                samples_ms=[round(t, 1) for t in totals],
            )
            if floor_median:
                ratio = median(totals) / floor_median
                entry.update(ratio=round(ratio, 2), meets_goal=ratio <= GOAL_RATIO)
            paired = paired_ratios(plan.samples, sorted(floor, key=lambda f: f.seq))
            if paired:
                entry["paired_ratio"] = round(median(paired), 2)
        if plan.imports:
            entry["imports"] = {k: v for k, v in plan.imports.items() if k != "packages"}
        rows.append(entry)
    measured = [r for r in rows if "ratio" in r]
    return {
        "benchmark": "cold_start",
        "machine": machine(),
        "settings": {
            "runs": args.runs,
            "floor_every": args.floor_every,
            "shuffle_seed": args.seed,
            "goal_ratio": GOAL_RATIO,
            "clock": "time.perf_counter() around import + handler(event, context); interpreter start-up excluded",
            "floor": 'import boto3; boto3.client("dynamodb")',
        },
        "bytecode": bytecode,
        "seed_errors": seed_errors,
        "floor": {
            "runs": len(floor),
            "median_ms": round(floor_median, 1) if floor_median else None,
            "p90_ms": round(p90([s.total_ms for s in floor]), 1) if floor else None,
            "import_boto3_median_ms": round(median([s.import_ms for s in floor]), 1) if floor else None,
            "client_median_ms": round(median([s.call_ms for s in floor]), 1) if floor else None,
            "samples_ms": [round(s.total_ms, 1) for s in floor],
            "errors": floor_errors,
        },
        "functions": rows,
        "summary": {
            "functions": len(rows),
            "measured": len(measured),
            "meeting_goal": sum(1 for r in measured if r["meets_goal"]),
            "no_scenario": [r["function"] for r in rows if r["status"] == "no scenario"],
            "errors": [r["function"] for r in rows if r["status"] in ("error", "partial")],
            "stale_scenarios": unknown_functions({f.name for f in PLATFORM.functions}),
            "elapsed_s": round(elapsed_s, 1),
        },
    }


def print_report(payload: dict[str, Any]) -> None:
    m, fl, summary = payload["machine"], payload["floor"], payload["summary"]
    print()
    print(f"Cold start, {m['date']}, Python {m['python']}, {m['cpu_count']} CPUs, {payload['settings']['runs']} runs")
    print(
        f"Floor (import boto3 + one DynamoDB client): median {ms(fl['median_ms'], 1)} ms, p90 {ms(fl['p90_ms'], 1)} ms"
        f" (import {ms(fl['import_boto3_median_ms'], 1)} + client {ms(fl['client_median_ms'], 1)}), {fl['runs']} runs"
    )
    print()
    rows = []
    for r in payload["functions"]:
        goal = "" if "ratio" not in r else ("yes" if r["meets_goal"] else "NO")
        status = r["status"] if r["status"] != "ok" else f"{r['runs_ok']}"
        rows.append(
            [
                r["function"],
                r["trigger"],
                status,
                ms(r.get("median_ms")),
                ms(r.get("p90_ms")),
                ms(r.get("import_median_ms")),
                ms(r.get("first_call_median_ms")),
                "-" if "ratio" not in r else f"{r['ratio']:.2f}x",
                "-" if "paired_ratio" not in r else f"{r['paired_ratio']:.2f}x",
                goal,
            ]
        )
    headers = [
        "function",
        "trigger",
        "runs",
        "median ms",
        "p90 ms",
        "import ms",
        "1st call ms",
        "ratio",
        "paired",
        "<=1.3x",
    ]
    print(table(headers, rows, right=(2, 3, 4, 5, 6, 7, 8)))
    print("ratio = median / floor median (what the goal is judged on); paired = median over runs of (run / mean of")
    print("the floor runs just before and after it), which drifting load on the machine disturbs less")
    print()
    goal = payload["settings"]["goal_ratio"]
    print(f"{summary['meeting_goal']} of {summary['measured']} measured handlers within {goal}x of the floor")
    print(f"No scenario: {', '.join(summary['no_scenario']) or 'none'}")
    print(f"Errors: {', '.join(summary['errors']) or 'none'}")
    for r in payload["functions"]:
        for error in r["errors"][:3]:
            print(f"  ! {r['function']}: {error}")
    if summary["stale_scenarios"]:
        print(f"  ! scenarios for functions not in the manifest: {', '.join(summary['stale_scenarios'])}")
    for name, error in payload["seed_errors"].items():
        print(f"  ! seeder {name}: {error}")
    if summary.get("load_warnings"):
        load = payload["machine"].get("load_average")
        print(
            f"note: the machine was busy during {summary['load_warnings']} of {payload['settings']['runs']} rounds"
            f" (load average at the end: {load}): medians are noisier than usual, p90 more so"
        )
    missing = payload["bytecode"]["without_pyc"]
    print(
        f"bytecode: {payload['bytecode']['source_files']} source files of functions/ and its dependencies checked;"
        f" without an up-to-date .pyc: {missing or 'none'}"
    )

    if payload.get("references"):
        print()
        print("Reference stacks (what building blocks cost on top of the floor, same clock):")
        ref_rows = [
            [r["reference"], r["runs"], ms(r["median_ms"]), f"{r['ratio']:.2f}x", f"{r['paired_ratio']:.2f}x"]
            for r in payload["references"]
        ]
        print(table(["reference", "runs", "median ms", "ratio", "paired"], ref_rows, right=(1, 2, 3, 4)))

    print()
    print("What dominates the import (one -X importtime run per handler, in ms; 'by cause' = self time grouped by the")
    print("dependency that brought it in; 'heaviest' = cumulative, charged to the first of our modules importing it):")
    for r in payload["functions"]:
        imports = r.get("imports")
        if not imports:
            continue
        causes = ", ".join(f"{k} {v:.0f}" for k, v in imports["ms_by_cause"].items() if v >= 1)
        heavy = ", ".join(f"{e['module']} {e['ms']:.0f} (by {e['imported_by']})" for e in imports["heaviest_imports"])
        print(
            f"- {r['function']}: imports {imports['import_phase_ms']:.0f} ms"
            f" (+{imports['first_call_imports_ms']:.0f} ms imported lazily during the first call)"
        )
        print(f"    by cause: {causes}")
        print(f"    heaviest imports by our modules: {heavy}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per handler (at least 7 for the goal)")
    parser.add_argument("--floor-every", type=int, default=2, help="one floor run per this many handler runs")
    parser.add_argument("--only", default="", help="comma-separated function names (default: all)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the per-round shuffle")
    parser.add_argument("--out", default="cold_start.json", help="file name under bench/results/")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a handler could not be measured")
    parser.add_argument(
        "--references",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time reference stacks: the floor plus Powertools Logger, pydantic, the REST resolver",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.floor_every < 1:
        parser.error("--runs and --floor-every must be at least 1")
    payload = run(args)
    print_report(payload)
    path = write_json(args.out, payload)
    print(f"\nwrote {path.relative_to(REPO_ROOT)}")
    return 1 if args.strict and payload["summary"]["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
