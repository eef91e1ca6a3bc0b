"""AWS requests and DynamoDB capacity per operation.

For every function in the manifest (``PLATFORM``) and every scenario ``bench.scenarios`` has for it, a fresh Python
process (a cold Lambda container) installs botocore event hooks on boto3's default session (``bench.awscount``),
imports the handler and calls it twice: *cold* (the container's first request: it also pays one-off reads such as
the cursor-signing secret) and *warm* (a second request of the same kind, with its own event where a create needs
fresh names). Every AWS API call is recorded by service and operation, with DynamoDB's consumed capacity: moto's
figure as returned (moto uses fixed numbers and returns none for TransactWriteItems: shown as ``n/r``) and an
estimate from the item sizes (``bench.capacity``; ``~`` marks a lower bound). A DynamoDB Scan on a request path is
flagged. A function whose log feeds a ``LogSubscription`` also has the feed lines it wrote counted per call
(``bench.logcount``): what recording a product view, a search or an add to cart costs the request is those lines,
and the goals check that it makes no AWS request for them. Nothing here is timed for its own sake; the ms column
only helps to read the cold/warm difference.

Run: ``PYTHONPATH=. .venv/bin/python bench/calls.py [--only GetProduct,ListProducts]``.
Prints a table and writes ``bench/results/calls.json``. See bench/README.md for how to read it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable without PYTHONPATH
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.awscount import SHORT
from bench.capacity import IndexKeys
from bench.harness import Bench, LocalAws, describe, outcome, select_functions
from bench.report import REPO_ROOT, machine, table, write_json
from bench.scenarios import Scenario, scenarios_for, seed_all, unknown_functions
from functions.manifest import PLATFORM
from functions.shared.wiring import Function, Route

CHILD_TIMEOUT_S = 120
RESULT_MARK = "BENCH-RESULT "


@dataclass(frozen=True)
class Goal:
    """Met when every scenario of ``function`` whose label starts with ``label_prefix`` makes, cold and warm, this
    many DynamoDB requests, other AWS requests and feed lines (``None``: not checked)."""

    text: str
    function: str
    label_prefix: str = ""
    dynamodb_requests: int | None = 1
    other_requests: int | None = None
    feed_lines: int | None = None


# Recording for analytics (functions.shared.activity) is log lines only: a request that records makes no AWS request
# but the operation's own DynamoDB ones (other_requests=0: no events:PutEvents, no logs call), and writes its lines.
GOALS = (
    Goal("a product page is one DynamoDB request", "GetProduct"),
    Goal("a category listing is one DynamoDB request", "ListProducts", "category listing"),
    Goal(
        "recording a product view adds 0 AWS requests, 1 log line (the page: 1 DynamoDB request, nothing else)",
        "GetProduct",
        "product page",
        feed_lines=1,
        other_requests=0,
    ),
    Goal(
        "recording a view from a search adds 0 AWS requests, 2 log lines (search_view + product_view)",
        "GetProduct",
        "search result opened",
        feed_lines=2,
        other_requests=0,
    ),
    Goal(
        "recording a search adds 0 AWS requests, 1 log line (only the search's own DynamoDB Queries)",
        "ListProducts",
        "keyword search",
        dynamodb_requests=None,
        feed_lines=1,
        other_requests=0,
    ),
    Goal(
        "recording an add to cart adds 0 AWS requests, 1 log line (only the cart's own DynamoDB requests)",
        "AddCartItem",
        dynamodb_requests=None,
        feed_lines=1,
        other_requests=0,
    ),
)

# The child: hooks first (before any client exists), then the handler, then the calls, one phase each.
CHILD = f"""
import json, sys, time
from bench.awscount import Recorder
from bench.logcount import FeedLineCounter
with open(sys.argv[1], encoding="utf-8") as f:
    spec = json.load(f)
recorder = Recorder.install({{t: [tuple(k) for k in keys] for t, keys in spec["index_keys"].items()}})
feed = FeedLineCounter.install(spec["feed_keys"])
from local.apigw import LambdaContext
out = {{"import_error": None, "init": [], "results": []}}
try:
    __import__(spec["module"])
    handler = getattr(sys.modules[spec["module"]], spec["attribute"])
except BaseException as exc:
    handler, out["import_error"] = None, type(exc).__name__ + ": " + str(exc)
phases = [item["phase"] for item in spec["events"]]
out["init"] = [c.as_dict() for c in recorder.take(phases[0])]
feed.take()
for i, item in enumerate(spec["events"]):
    if handler is None:
        break
    response = error = None
    t0 = time.perf_counter()
    try:
        response = handler(item["event"], LambdaContext(spec["function"]))
    except BaseException as exc:
        error = type(exc).__name__ + ": " + str(exc)
    elapsed = (time.perf_counter() - t0) * 1000
    calls = recorder.take(phases[i + 1] if i + 1 < len(phases) else "after")
    out["results"].append({{"phase": item["phase"], "ms": elapsed, "response": response, "error": error,
                            "calls": [c.as_dict() for c in calls], "feed_lines": feed.take()}})
print("{RESULT_MARK}" + json.dumps(out, default=str), file=sys.__stdout__, flush=True)
"""


def feed_keys(function: Function) -> list[str]:
    """The keys of the log subscriptions that read ``function``'s log (none: it feeds nothing)."""
    return sorted(
        {key for c in PLATFORM.contexts for s in c.log_subscriptions if function.name in s.sources for key in s.keys}
    )


def index_keys(aws: LocalAws) -> IndexKeys:
    """Physical table name -> the (partition, sort) keys of its global secondary indexes, from the manifest."""
    keys: IndexKeys = {}
    for t in PLATFORM.tables:
        physical = aws.created.env.get(f"{t.name.upper()}_TABLE_NAME")
        if physical:
            keys[physical] = [(i.partition_key, i.sort_key) for i in t.indexes]
    return keys


def summarise_phase(result: dict[str, Any]) -> dict[str, Any]:
    calls = result["calls"]
    requests = Counter(f"{c['service']}:{c['operation']}" for c in calls)
    ddb = [c for c in calls if c["service"] == "dynamodb"]
    reported = [c for c in ddb if c["reported_cu"] is not None]
    estimated = [c for c in ddb if c["est_rcu"] is not None]
    problem = result["error"] or outcome(result["response"])
    return {
        "feed_lines": result["feed_lines"],
        "ok": problem is None,
        "problem": problem,
        "ms": round(result["ms"], 1),
        "requests": dict(requests),
        "aws_requests": len(calls),
        "dynamodb_requests": len(ddb),
        "other_requests": len(calls) - len(ddb),
        "scans": sum(1 for c in ddb if c["operation"] == "Scan"),
        "moto_reported_cu": round(sum(c["reported_cu"] for c in reported), 2) if reported else None,
        "moto_not_reported": sorted({c["operation"] for c in ddb if c["reported_cu"] is None}),
        "est_rcu": round(sum(c["est_rcu"] for c in estimated), 2) if estimated else None,
        "est_wcu": round(sum(c["est_wcu"] for c in estimated), 2) if estimated else None,
        "est_approximate": any(c["est_approximate"] for c in estimated),
        "retries": sum(c["retries"] for c in calls),
        "call_errors": [f"{c['service']}:{c['operation']}:{c['error']}" for c in calls if c["error"]],
        "calls": calls,
    }


def run_scenario(
    aws: LocalAws, bench: Bench, function: Function, scenario: Scenario, directory: Path
) -> dict[str, Any]:
    entry: dict[str, Any] = {"scenario": scenario.label, "generic_scenario": scenario.generic}
    try:
        events = [{"phase": "cold", "event": scenario.build(bench)}, {"phase": "warm", "event": scenario.build(bench)}]
    except Exception as exc:
        return {**entry, "status": "error", "error": f"scenario could not be built: {type(exc).__name__}: {exc}"}
    spec = {
        "function": function.name,
        "module": function.module,
        "attribute": function.attribute,
        "events": events,
        "index_keys": index_keys(aws),
        "feed_keys": feed_keys(function),
    }
    path = directory / f"{function.name}-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)],
            cwd=REPO_ROOT,
            env=aws.function_env(function),
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {**entry, "status": "error", "error": f"timed out after {CHILD_TIMEOUT_S} s"}
    line = next((ln for ln in reversed(done.stdout.splitlines()) if ln.startswith(RESULT_MARK)), None)
    if line is None:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        return {**entry, "status": "error", "error": f"exit {done.returncode}, no result: {tail}"}
    out = json.loads(line[len(RESULT_MARK) :])
    if out["import_error"]:
        return {**entry, "status": "error", "error": f"import failed: {out['import_error']}"}
    phases = {r["phase"]: summarise_phase(r) for r in out["results"]}
    problems = [f"{name}: {p['problem']}" for name, p in phases.items() if not p["ok"]]
    return {
        **entry,
        "feeds": bool(spec["feed_keys"]),
        "status": "ok" if not problems else "error",
        "error": "; ".join(problems) or None,
        "init_requests": [f"{c['service']}:{c['operation']}" for c in out["init"]],
        **phases,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    functions = select_functions(args.only)
    rows: list[dict[str, Any]] = []
    with LocalAws() as aws, tempfile.TemporaryDirectory(prefix="bench-calls-") as tmp:
        bench = Bench(stream_arns=aws.created.stream_arns)
        print(f"moto at {aws.endpoint}; seeding ...", flush=True)
        seed_errors = seed_all(bench)
        for function in functions:
            base = {
                "function": function.name,
                "context": PLATFORM.context_of(function).name,
                "trigger": describe(function),
                "request_path": isinstance(function, Route),
            }
            found = scenarios_for(function)
            if not found:
                rows.append({**base, "scenario": None, "status": "no scenario"})
                continue
            for scenario in found:
                rows.append({**base, **run_scenario(aws, bench, function, scenario, Path(tmp))})
            print(f"  {function.name}: {len(found)} scenario(s) ({time.monotonic() - started:.0f} s)", flush=True)
    return build_payload(rows, seed_errors, time.monotonic() - started)


_GOAL_FIGURES = ("dynamodb_requests", "other_requests", "feed_lines")


def evaluate_goals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = []
    for goal in GOALS:
        matching = [
            r
            for r in rows
            if r["function"] == goal.function and (r.get("scenario") or "").startswith(goal.label_prefix)
        ]
        wanted = {f: getattr(goal, f) for f in _GOAL_FIGURES if getattr(goal, f) is not None}
        checked = []
        for r in matching:
            figures = {f"{p}_{f}": r[p][f] if p in r else None for f in _GOAL_FIGURES for p in ("cold", "warm")}
            met = r.get("status") == "ok" and all(
                figures[f"{p}_{f}"] == want for f, want in wanted.items() for p in ("cold", "warm")
            )
            checked.append({"scenario": r["scenario"], **figures, "met": met})
        met = all(c["met"] for c in checked) if checked else None  # None: not run (--only left it out)
        results.append({"goal": goal.text, "checked_figures": sorted(wanted), "met": met, "checked": checked})
    return results


def build_payload(rows: list[dict[str, Any]], seed_errors: dict[str, str], elapsed_s: float) -> dict[str, Any]:
    scans = [
        f"{r['function']} ({r['scenario']})"
        for r in rows
        if r.get("request_path") and any(r.get(p, {}).get("scans") for p in ("cold", "warm"))
    ]
    return {
        "benchmark": "calls",
        "machine": machine(),
        "notes": {
            "moto_reported_cu": "ConsumedCapacity as moto returns it: fixed per API, not measured; n/r = not returned",
            "est_rcu_wcu": "estimate from item sizes with DynamoDB's billing rules (bench/capacity.py); "
            "approximate = lower bound",
        },
        "seed_errors": seed_errors,
        "operations": rows,
        "goals": evaluate_goals(rows),
        "summary": {
            "scenarios": sum(1 for r in rows if r.get("scenario")),
            "no_scenario": [r["function"] for r in rows if r["status"] == "no scenario"],
            "errors": [f"{r['function']} ({r['scenario']})" for r in rows if r["status"] == "error"],
            "scans_on_request_path": scans,
            "stale_scenarios": unknown_functions({f.name for f in PLATFORM.functions}),
            "elapsed_s": round(elapsed_s, 1),
        },
    }


def _requests_text(requests: dict[str, int]) -> str:
    """``ddb:GetItem+TransactWriteItems events:PutEvents(x3)``, in the order of the first call of each API."""
    by_service: dict[str, list[str]] = {}
    for api, count in requests.items():
        service, operation = api.split(":", 1)
        by_service.setdefault(SHORT.get(service, service), []).append(
            f"{operation}(x{count})" if count > 1 else operation
        )
    return " ".join(f"{service}:{'+'.join(ops)}" for service, ops in by_service.items()) or "none"


def _capacity_text(phase: dict[str, Any]) -> tuple[str, str]:
    if not phase["dynamodb_requests"]:
        return "-", "-"
    moto = "n/r" if phase["moto_reported_cu"] is None else f"{phase['moto_reported_cu']:g}"
    if phase["moto_not_reported"] and phase["moto_reported_cu"] is not None:
        moto += " +n/r"
    if phase["est_rcu"] is None:
        return moto, "?"
    mark = "~" if phase["est_approximate"] else ""
    rcu, wcu = phase["est_rcu"], phase["est_wcu"]
    return moto, f"{mark if rcu else ''}{rcu:g}/{mark if wcu else ''}{wcu:g}"


_FIGURE_NAMES = {"dynamodb_requests": "ddb", "other_requests": "other AWS", "feed_lines": "feed lines"}


def _goal_figures_text(goal: dict[str, Any], checked: dict[str, Any]) -> str:
    """``product page: ddb 1/1, other AWS 0/0, feed lines 1/1`` (cold/warm): the DynamoDB figure and what else the
    goal checks."""
    shown = [f for f in _GOAL_FIGURES if f == "dynamodb_requests" or f in goal["checked_figures"]]
    parts = ", ".join(f"{_FIGURE_NAMES[f]} {checked[f'cold_{f}']}/{checked[f'warm_{f}']}" for f in shown)
    return f"{checked['scenario']}: {parts}"


def print_report(payload: dict[str, Any]) -> None:
    m, summary = payload["machine"], payload["summary"]
    print()
    print(f"AWS requests per operation, {m['date']}, Python {m['python']}, {m['cpu_count']} CPUs")
    print("cold = first request in a fresh process; warm = the next one. ddb = DynamoDB requests cold/warm.")
    print("moto CU = ConsumedCapacity moto returned (fixed per API; n/r = none returned). est. = item-size estimate")
    print("for the warm call, RCU/WCU (~ = lower bound). feed = feed lines written cold/warm (functions whose log")
    print("a LogSubscription reads). Flags: SCAN = DynamoDB Scan on a request path.")
    print()
    rows = []
    for r in payload["operations"]:
        if r["status"] == "no scenario" or "cold" not in r:
            rows.append([r["function"], r.get("scenario") or "-", r["status"].upper(), "", "", "", "", "", "", ""])
            continue
        cold, warm = r["cold"], r["warm"]
        cold_text, warm_text = _requests_text(cold["requests"]), _requests_text(warm["requests"])
        moto, est = _capacity_text(warm)
        flags = []
        if r["request_path"] and (cold["scans"] or warm["scans"]):
            flags.append("SCAN")
        if r["status"] != "ok":
            flags.append("ERROR")
        if r["init_requests"]:
            flags.append(f"import-time calls: {', '.join(r['init_requests'])}")
        if cold["retries"] or warm["retries"]:
            flags.append(f"retries {cold['retries']}/{warm['retries']}")
        if cold["call_errors"] or warm["call_errors"]:
            flags.append("aws errors: " + ", ".join(cold["call_errors"] + warm["call_errors"]))
        rows.append(
            [
                r["function"],
                r["scenario"],
                cold_text,
                "same" if warm_text == cold_text else warm_text,
                f"{cold['dynamodb_requests']}/{warm['dynamodb_requests']}",
                f"{cold['feed_lines']}/{warm['feed_lines']}" if r["feeds"] else "",
                moto,
                est,
                f"{cold['ms']:.0f}/{warm['ms']:.0f}",
                " ".join(flags),
            ]
        )
    headers = [
        "function",
        "scenario",
        "cold requests",
        "warm requests",
        "ddb",
        "feed",
        "moto CU",
        "est. RCU/WCU",
        "ms",
        "flags",
    ]
    print(table(headers, rows, right=(4, 5, 6, 7, 8)))
    print()
    print("Goals:")
    for goal in payload["goals"]:
        detail = "; ".join(_goal_figures_text(goal, c) for c in goal["checked"])
        verdict = {True: "met", False: "NOT MET", None: "not run"}[goal["met"]]
        print(f"  [{verdict}] {goal['goal']} ({detail or 'no matching scenario in this run'})")
    print(f"DynamoDB Scans on a request path: {', '.join(summary['scans_on_request_path']) or 'none'}")
    print(f"No scenario: {', '.join(summary['no_scenario']) or 'none'}")
    print(f"Errors: {', '.join(summary['errors']) or 'none'}")
    for r in payload["operations"]:
        if r["status"] == "error":
            print(f"  ! {r['function']} ({r['scenario']}): {r['error']}")
    if summary["stale_scenarios"]:
        print(f"  ! scenarios for functions not in the manifest: {', '.join(summary['stale_scenarios'])}")
    for name, error in payload["seed_errors"].items():
        print(f"  ! seeder {name}: {error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", default="", help="comma-separated function names (default: all)")
    parser.add_argument("--out", default="calls.json", help="file name under bench/results/")
    parser.add_argument("--strict", action="store_true", help="exit 1 when an operation could not be measured")
    args = parser.parse_args(argv)
    payload = run(args)
    print_report(payload)
    path = write_json(args.out, payload)
    shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
    print(f"\nwrote {shown}")
    return 1 if args.strict and payload["summary"]["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
