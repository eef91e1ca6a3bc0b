"""Keyword-search benchmark (issue 3): the search index against a naive full Scan, at 1,000 / 10,000 / 100,000
products, in in-process moto.

For each catalogue size, in a fresh ``mock_aws``:

1. create every manifest resource (``local.resources.create_all``); generate the catalogue (``bench/search_data.py``,
   fixed seed, mixed Chinese/English); load the catalogue table as the repository writes it and index every product
   with the real ``DynamoSearchIndex.apply`` (in memory, then loaded into moto: ``bench/search_build.py``, verified
   against ``apply`` through moto on the first products);
2. run the 200 fixed queries through the real ``ListProducts`` handler (``GET /products?q=...``, API Gateway event
   as ``local/apigw.py`` builds it, called in-process): a *counted* pass with the botocore hooks of
   ``bench/awscount.py`` (requests, moto's ConsumedCapacity, the capacity estimate of ``bench/capacity.py``), then a
   *timed* pass with the hooks switched off (``perf_counter`` around the handler call only);
3. the baseline: the same queries answered by a paginated Scan of the catalogue table (``begins_with(pk,
   'PRODUCT#')``), then casefolded substring matching of every query word on name, brand, description, category names
   and SKUs, the same filters, facets counted in Python. Counted once, timed on a sample of the queries
   (``--scan-sample``: the same queries at every size, all kinds represented).

moto's Query and Scan are made to cost what they read rather than the whole table (``bench/motoscale.py``; without it
one Query costs ~1 s at 100,000 items); ``--moto-as-is`` turns that off for small runs. Cyclic garbage collection is
frozen after each build so that a collection of millions of moto objects does not land in a timed call.

    PYTHONPATH=. .venv/bin/python bench/search.py                        # 1,000, 10,000 and 100,000 products
    PYTHONPATH=. .venv/bin/python bench/search.py --sizes 1000,10000 --scan-sample 200
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import logging
import os
import resource
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, cast

# Credentials and region before boto3 is imported anywhere (DESIGN.md §8).
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
)
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from bench.awscount import CallRecord, Recorder  # noqa: E402
from bench.harness import Bench, outcome  # noqa: E402
from bench.motoscale import partition_local  # noqa: E402
from bench.report import load_warning, machine, median, ms, table, write_json  # noqa: E402
from bench.search_build import (  # noqa: E402
    IndexSizes,
    MemoryDynamo,
    catalogue_items,
    load,
    reference_items,
    verify_bulk_path,
)
from bench.search_data import KIND_COUNTS, BenchQuery, Vocabulary, products, queries, vocabulary  # noqa: E402
from functions.catalog.model import Product  # noqa: E402
from functions.manifest import PLATFORM  # noqa: E402
from functions.shared.dynamo import from_item  # noqa: E402
from local.apigw import LambdaContext  # noqa: E402
from local.resources import create_all  # noqa: E402

DEFAULT_SIZES = (1_000, 10_000, 100_000)
PREFIX = "bench"
VERIFY_PRODUCTS = 20
CHUNK = 5_000
PRICE_BANDS = (0, 100_00, 500_00, 1_000_00, 2_000_00, 5_000_00, 10_000_00)  # only for the baseline's facet counts
SPEED_GOAL = 20.0
Handler = Callable[[dict[str, Any], Any], Any]


# --- helpers -------------------------------------------------------------------------------------------------------


class SwitchableRecorder(Recorder):
    """bench/awscount.py's recorder, whose hooks do nothing while ``active`` is false (for the timed pass: no
    ``ReturnConsumedCapacity`` added, no capacity estimate computed inside the timed call)."""

    active = True

    def _provide_params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **kw: Any) -> None:
        if self.active:
            super()._provide_params(params, model, context, **kw)

    def _before_call(self, model: Any, context: dict[str, Any], **kw: Any) -> None:
        if self.active:
            super()._before_call(model, context, **kw)

    def _after_call(self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **kw: Any) -> None:
        if self.active:
            super()._after_call(http_response, parsed, context, **kw)

    def _after_error(self, exception: Exception, context: dict[str, Any], **kw: Any) -> None:
        if self.active:
            super()._after_error(exception, context, **kw)


@contextmanager
def switched_off(recorder: SwitchableRecorder) -> Iterator[None]:
    recorder.active = False
    try:
        yield
    finally:
        recorder.active = True


def p95(values: Sequence[float]) -> float:
    if len(values) < 2:
        return float(values[0])
    return float(statistics.quantiles(values, n=20, method="inclusive")[18])


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def say(text: str) -> None:
    print(text, flush=True)


@dataclass
class Counted:
    """What one call did: DynamoDB requests by operation, other AWS requests, capacity."""

    ddb: int = 0
    ops: dict[str, int] = field(default_factory=dict)
    other: dict[str, int] = field(default_factory=dict)
    est_rcu: float = 0.0
    moto_cu: float = 0.0
    errors: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, calls: list[CallRecord]) -> Counted:
        out = cls()
        for c in calls:
            if c.service == "dynamodb":
                out.ddb += 1
                out.ops[c.operation] = out.ops.get(c.operation, 0) + 1
                out.est_rcu += c.est_rcu or 0.0
                out.moto_cu += c.reported_cu or 0.0
            else:
                out.other[c.api] = out.other.get(c.api, 0) + 1
            if c.error:
                out.errors.append(f"{c.api}: {c.error}")
        return out


@dataclass
class QueryResult:
    kind: str
    label: str
    requests: int
    ops: dict[str, int]
    other_requests: dict[str, int]
    est_rcu: float
    moto_cu: float
    latency_ms: float | None = None
    status: int | None = None
    total: int | None = None
    exact: bool | None = None
    returned: int | None = None
    error: str | None = None


# --- the search path: the real ListProducts handler ----------------------------------------------------------------


class SearchPath:
    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.function = bench.function("ListProducts")
        module = importlib.import_module(self.function.module)
        self.handler: Handler = getattr(module, self.function.attribute)

    def event(self, query: BenchQuery) -> dict[str, Any]:
        return self.bench.event("GET", "/products", query=query.params())

    def call(self, event: dict[str, Any]) -> Any:
        context = LambdaContext(self.function.name, self.function.memory_mb, self.function.timeout_s)
        return self.handler(event, context)


class IndexPath:
    """``--path index``: ``DynamoSearchIndex.search`` alone, without the handler (what the index itself costs)."""

    def __init__(self, client: Any, table: str) -> None:
        from functions.catalog.search.dynamo import DynamoSearchIndex

        self.index = DynamoSearchIndex(client, table)

    def event(self, query: BenchQuery) -> dict[str, Any]:
        return {"query": query}

    def call(self, event: dict[str, Any]) -> Any:
        from functions.catalog.search.model import FacetName, SearchQuery

        q: BenchQuery = event["query"]
        params: dict[str, Any] = {k: v for k, v in q.params().items() if k != "facets"}
        page = self.index.search(SearchQuery(**params, facets=frozenset(cast("tuple[FacetName, ...]", q.facets))))
        return {"statusCode": 200, "body": page.model_dump_json()}


_DEVNULL = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process


def mute_stdout_logs() -> None:
    """Point log handlers that write to stdout at /dev/null: the search analytics feed logs one line per search,
    which would bury the table. The line is still formatted and written (the handler's cost is unchanged)."""
    for logger in [logging.getLogger(), *logging.root.manager.loggerDict.values()]:
        if not isinstance(logger, logging.Logger):
            continue
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stdout, sys.__stdout__):
                handler.setStream(_DEVNULL)


def run_search(path: SearchPath | IndexPath, recorder: SwitchableRecorder, plan: list[BenchQuery]) -> list[QueryResult]:
    results: list[QueryResult] = []
    # Counted pass (also the warm-up: imports, clients, the cursor secret).
    for query in plan:
        event = path.event(query)
        recorder.take(query.label())
        response = path.call(event)
        counted = Counted.of(recorder.take("between"))
        mute_stdout_logs()  # loggers may be created by the first call
        result = QueryResult(
            query.kind, query.label(), counted.ddb, counted.ops, counted.other, counted.est_rcu, counted.moto_cu
        )
        result.status = int(response.get("statusCode", 0)) if isinstance(response, dict) else None
        problem = outcome(response)
        if problem is not None:
            result.error = problem
        else:
            body = json.loads(response.get("body") or "{}")
            result.total, result.exact = body.get("total"), body.get("exact")
            result.returned = len(body.get("items") or [])
        if counted.errors:
            result.error = "; ".join([*([result.error] if result.error else []), *counted.errors])
        results.append(result)
    # Timed pass: hooks off, only the handler call inside the clock.
    with switched_off(recorder):
        for query, result in zip(plan, results, strict=True):
            event = path.event(query)
            start = time.perf_counter()
            path.call(event)
            result.latency_ms = (time.perf_counter() - start) * 1000
    return results


# --- the baseline: a naive full Scan + filter -----------------------------------------------------------------------


def _searchable(product: Product) -> str:
    texts = [product.name, product.brand_name, product.description, *product.category_names]
    texts += [v.sku for v in product.variants]
    return " ".join(texts).casefold()


def naive_search(client: Any, table: str, query: BenchQuery) -> dict[str, Any]:
    """What a shop without an index would do: read every product, keep those containing every query word."""
    words = [w.casefold() for w in query.q.split()]
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "begins_with(pk, :p)",
        "ExpressionAttributeValues": {":p": {"S": "PRODUCT#"}},
    }
    matched: list[Product] = []
    while True:
        page = client.scan(**kwargs)
        for item in page.get("Items", []):
            product = Product.model_validate(from_item(item))
            if not product.visible:
                continue
            text = _searchable(product)
            if not all(w in text for w in words):
                continue
            if query.category and query.category not in product.category_path:
                continue
            if query.brand and product.brand_id != query.brand:
                continue
            price = product.price.amount
            if query.min_price is not None and price < query.min_price:
                continue
            if query.max_price is not None and price > query.max_price:
                continue
            matched.append(product)
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    matched.sort(key=lambda p: p.created_at, reverse=True)
    out: dict[str, Any] = {"total": len(matched), "items": [p.product_id for p in matched[:20]]}
    if "category" in query.facets:
        out["category"] = Counter(p.category_path[0] for p in matched)
    if "brand" in query.facets:
        out["brand"] = Counter(p.brand_id for p in matched)
    if "price" in query.facets:
        out["price"] = Counter(max(i for i, low in enumerate(PRICE_BANDS) if p.price.amount >= low) for p in matched)
    return out


def scan_sample(plan: list[BenchQuery], count: int) -> list[int]:
    """Indexes of ``count`` queries spread over every kind (the same ones at every size)."""
    if count >= len(plan):
        return list(range(len(plan)))
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, q in enumerate(plan):
        by_kind[q.kind].append(i)
    chosen: list[int] = []
    round_ = 0
    while len(chosen) < count:
        for kind in KIND_COUNTS:
            members = by_kind[kind]
            if round_ < len(members) and len(chosen) < count:
                chosen.append(members[round_])
        round_ += 1
    return sorted(chosen)


def run_scan(
    client: Any, table: str, recorder: SwitchableRecorder, plan: list[BenchQuery], sample: list[int]
) -> dict[str, Any]:
    recorder.take("scan-counted")
    naive_search(client, table, plan[sample[0]])
    counted = Counted.of(recorder.take("between"))
    timings: list[dict[str, Any]] = []
    with switched_off(recorder):
        for i in sample:
            start = time.perf_counter()
            found = naive_search(client, table, plan[i])
            elapsed = (time.perf_counter() - start) * 1000
            timings.append(
                {
                    "query": i,
                    "kind": plan[i].kind,
                    "label": plan[i].label(),
                    "latency_ms": elapsed,
                    "total": found["total"],
                }
            )
    return {"requests": counted.ddb, "est_rcu": counted.est_rcu, "moto_cu": counted.moto_cu, "queries": timings}


# --- one catalogue size --------------------------------------------------------------------------------------------


def environment(created_env: dict[str, str]) -> dict[str, str]:
    return {
        **created_env,
        "POWERTOOLS_SERVICE_NAME": "shop-catalog",
        "POWERTOOLS_METRICS_NAMESPACE": "Shop",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",  # an INFO line per request would bury the table
        "POWERTOOLS_METRICS_DISABLED": "true",
        "STAGE": "bench",
        "AWS_LAMBDA_FUNCTION_NAME": "ListProducts",
    }


def build(vocab: Vocabulary, size: int, client: Any, env: dict[str, str], verify: int) -> dict[str, Any]:
    from functions.catalog.search.dynamo import DynamoSearchIndex

    catalog, search = env["CATALOG_TABLE_NAME"], env["SEARCH_TABLE_NAME"]
    out: dict[str, Any] = {}
    if verify:
        scratch = f"{PREFIX}-scratch"
        client.create_table(
            TableName=scratch,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk")],
            BillingMode="PAY_PER_REQUEST",
        )
        start = time.perf_counter()
        problem = verify_bulk_path(client, scratch, list(products(vocab, min(verify, size))))
        client.delete_table(TableName=scratch)
        out["verify"] = {"products": min(verify, size), "problem": problem, "s": time.perf_counter() - start}
        if problem:
            raise SystemExit(f"the bulk index path differs from apply() through moto: {problem}")
    memory = MemoryDynamo()
    index = DynamoSearchIndex(memory, search)
    start = time.perf_counter()
    catalogue_count = load(catalog, reference_items(vocab.categories, vocab.brands))
    active = 0
    gc.disable()  # millions of long-lived moto objects: collections during the build only cost time
    try:
        for chunk_start in range(0, size, CHUNK):
            chunk = list(products(vocab, min(size, chunk_start + CHUNK), start=chunk_start))
            catalogue_count += load(catalog, (item for p in chunk for item in catalogue_items(p)))
            for product in chunk:
                index.apply(product)
                active += product.visible
            load(search, memory.drain())
            if size >= 20_000:
                say(
                    f"  built {chunk_start + len(chunk):>7,} products  {time.perf_counter() - start:6.0f} s  "
                    f"max RSS {rss_mb():,.0f} MB"
                )
    finally:
        gc.enable()
    gc.collect()
    gc.freeze()  # keep the heap out of every later collection (see the module docstring)
    sizes: IndexSizes = memory.sizes
    out.update(
        products=size,
        active=active,
        catalogue_items=catalogue_count,
        build_s=time.perf_counter() - start,
        index=asdict(sizes),
        index_items_per_product=sizes.items / max(1, active),
        index_bytes_per_product=sizes.bytes / max(1, active),
        posting_bytes_per_product=sizes.posting_bytes / max(1, active),
        apply_requests_per_product=sizes.apply_requests / max(1, size),
        max_rss_mb=rss_mb(),
    )
    return out


def run_size(size: int, vocab: Vocabulary, plan: list[BenchQuery], args: argparse.Namespace) -> dict[str, Any]:
    from functions.shared import aws

    with ExitStack() as stack:
        stack.enter_context(mock_aws())
        if not args.moto_as_is:
            stack.enter_context(partition_local())
        # mock_aws gives boto3 a fresh default session: hook it before any client exists, and drop the handlers'
        # cached clients of the previous size's session.
        aws.reset()
        recorder = SwitchableRecorder.install()
        assert isinstance(recorder, SwitchableRecorder)
        created = create_all(PLATFORM, prefix=PREFIX)
        env = environment(created.env)
        os.environ.update(env)
        client = boto3.client("dynamodb")
        say(f"\n== {size:,} products: building ...")
        built = build(vocab, size, client, env, args.verify)
        recorder.take("built")
        say(
            f"  {built['products']:,} products ({built['active']:,} active), {built['catalogue_items']:,} catalogue "
            f"items; index {built['index']['postings']:,} postings + {built['index']['documents']:,} documents + "
            f"{built['index']['suggestion_rows']:,} suggestion rows; {built['build_s']:.0f} s; max RSS "
            f"{built['max_rss_mb']:,.0f} MB"
        )
        path: SearchPath | IndexPath = (
            SearchPath(Bench(PLATFORM)) if args.path == "handler" else IndexPath(client, env["SEARCH_TABLE_NAME"])
        )
        start = time.perf_counter()
        results = run_search(path, recorder, plan)
        say(f"  search: 200 queries counted and timed in {time.perf_counter() - start:.0f} s")
        sample = scan_sample(plan, args.scan_sample_for(size))
        start = time.perf_counter()
        scan = run_scan(client, env["CATALOG_TABLE_NAME"], recorder, plan, sample)
        say(f"  scan baseline: {len(sample)} queries in {time.perf_counter() - start:.0f} s")
        recorder.take("done")
        gc.unfreeze()
    gc.collect()
    return {"size": size, "build": built, "search": [asdict(r) for r in results], "scan": scan}


# --- report --------------------------------------------------------------------------------------------------------


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    sizes = [r["size"] for r in runs]
    per_size: list[dict[str, Any]] = []
    for run in runs:
        ok = [q for q in run["search"] if not q["error"]]
        lat = [q["latency_ms"] for q in ok]
        sample = {t["query"] for t in run["scan"]["queries"]}
        same = [run["search"][i]["latency_ms"] for i in sorted(sample) if not run["search"][i]["error"]]
        scan_lat = [t["latency_ms"] for t in run["scan"]["queries"]]
        per_size.append(
            {
                "size": run["size"],
                "errors": len(run["search"]) - len(ok),
                "search_median_ms": median(lat) if lat else None,
                "search_p95_ms": p95(lat) if lat else None,
                "search_sample_median_ms": median(same) if same else None,
                "scan_median_ms": median(scan_lat),
                "scan_p95_ms": p95(scan_lat),
                "scan_queries": len(scan_lat),
                "ratio": median(scan_lat) / median(same) if same else None,
                "requests_median": median([q["requests"] for q in ok]) if ok else None,
                "requests_max": max((q["requests"] for q in ok), default=None),
                "est_rcu_median": median([q["est_rcu"] for q in ok]) if ok else None,
                "est_rcu_max": max((q["est_rcu"] for q in ok), default=None),
                "moto_cu_median": median([q["moto_cu"] for q in ok]) if ok else None,
                "inexact": sum(1 for q in ok if q["exact"] is False),
                "scan_requests": run["scan"]["requests"],
                "scan_est_rcu": run["scan"]["est_rcu"],
                "index_bytes_per_product": run["build"]["index_bytes_per_product"],
                "index_items_per_product": run["build"]["index_items_per_product"],
                "posting_bytes_per_product": run["build"]["posting_bytes_per_product"],
                "build_s": run["build"]["build_s"],
            }
        )
    # Goal 1: requests per query do not grow with the catalogue (compared query by query with the smallest size).
    grew: list[dict[str, Any]] = []
    first = runs[0]["search"]
    for run in runs[1:]:
        for base, q in zip(first, run["search"], strict=True):
            if q["requests"] > base["requests"]:
                grew.append(
                    {
                        "size": run["size"],
                        "kind": q["kind"],
                        "query": q["label"],
                        "requests": q["requests"],
                        "at_smallest": base["requests"],
                    }
                )
    goal_requests = {"met": not grew and len(runs) > 1, "grew": grew, "compared_sizes": sizes}
    largest = per_size[-1]
    ratio = largest["ratio"]
    goal_speed = {
        "size": largest["size"],
        "ratio": ratio,
        "met": bool(ratio is not None and ratio >= SPEED_GOAL and largest["size"] >= 100_000),
        "measured_at_goal_size": largest["size"] >= 100_000,
    }
    return {"sizes": per_size, "goal_requests": goal_requests, "goal_speed": goal_speed}


def by_kind_table(runs: list[dict[str, Any]]) -> str:
    rows = []
    for kind in KIND_COUNTS:
        row: list[Any] = [kind, KIND_COUNTS[kind]]
        for run in runs:
            qs = [q for q in run["search"] if q["kind"] == kind and not q["error"]]
            req = [q["requests"] for q in qs]
            rcu = [q["est_rcu"] for q in qs]
            lat = [q["latency_ms"] for q in qs]
            row.append(f"{median(req):g}/{max(req)}" if req else "-")
            row.append(f"{median(rcu):.1f}/{max(rcu):.1f}" if rcu else "-")
            row.append(ms(median(lat), 1) if lat else "-")
        rows.append(row)
    headers = ["kind", "n"]
    for run in runs:
        n = f"{run['size'] // 1000}k"
        headers += [f"{n} req med/max", f"{n} RCU med/max", f"{n} ms med"]
    return table(headers, rows, right=range(1, len(headers)))


def print_report(runs: list[dict[str, Any]], summary: dict[str, Any], args: argparse.Namespace) -> None:
    what = "the ListProducts handler" if args.path == "handler" else "DynamoSearchIndex.search alone (--path index)"
    say(f"\n## Search vs naive scan (latency of {what}, in-process moto)\n")
    rows = []
    for s in summary["sizes"]:
        rows.append(
            [
                f"{s['size']:,}",
                ms(s["search_median_ms"], 1),
                ms(s["search_p95_ms"], 1),
                ms(s["search_sample_median_ms"], 1),
                f"{ms(s['scan_median_ms'])} ({s['scan_queries']})",
                ms(s["scan_p95_ms"]),
                f"{s['ratio']:.0f}x" if s["ratio"] else "-",
                f"{s['requests_median']:g}/{s['requests_max']}",
                f"{s['est_rcu_median']:.1f}/{s['est_rcu_max']:.1f}",
                f"{s['moto_cu_median']:g}",
                f"{s['scan_requests']} / {s['scan_est_rcu']:,.0f}",
                f"{s['index_items_per_product']:.0f} / {s['index_bytes_per_product'] / 1024:.1f} KB",
                f"{s['inexact']}",
                f"{s['errors']}",
            ]
        )
    say(
        table(
            [
                "products",
                "search med ms",
                "p95",
                "med (scan sample)",
                "scan med ms (n)",
                "scan p95",
                "speed-up",
                "req/query med/max",
                "est RCU med/max",
                "moto CU med",
                "scan req / est RCU",
                "index items / bytes per product",
                "inexact",
                "errors",
            ],
            rows,
            right=range(1, 14),
        )
    )
    say(
        "\nspeed-up = scan median / search median over the same sampled queries. est RCU: bench/capacity.py's "
        "estimate (moto's ConsumedCapacity is a fixed number per call). inexact: queries whose answer read only "
        "the first postings of a broad term (SearchPage.exact = false)."
    )
    say("\n## Requests, estimated RCU and median latency per query, by kind\n")
    say(by_kind_table(runs))
    say("\n## Index build\n")
    rows = []
    for run in runs:
        b = run["build"]
        idx = b["index"]
        rows.append(
            [
                f"{b['products']:,}",
                f"{b['catalogue_items']:,}",
                f"{idx['postings']:,}",
                f"{idx['posting_bytes'] / max(1, b['active']):,.0f}",
                f"{idx['suggestion_rows']:,}",
                f"{idx['suggestion_bytes'] / max(1, b['active']):,.0f}",
                f"{idx['document_bytes'] / max(1, b['active']):,.0f}",
                f"{b['index_bytes_per_product'] / 1024:.1f} KB",
                f"{b['apply_requests_per_product']:.0f}",
                f"{b['build_s']:.0f}",
                f"{b['max_rss_mb']:,.0f}",
            ]
        )
    say(
        table(
            [
                "products",
                "catalogue items",
                "postings",
                "posting B/product",
                "suggestion rows",
                "suggestion B/product",
                "document B/product",
                "index/product",
                "apply requests/product",
                "build s",
                "max RSS MB",
            ],
            rows,
            right=range(11),
        )
    )
    errors = [(run["size"], q) for run in runs for q in run["search"] if q["error"]]
    if errors:
        say(f"\n## Errors ({len(errors)})\n")
        for size, q in errors[:20]:
            say(f"- {size:,}: [{q['kind']}] {q['label']}: {q['error']}")
    say("\n## Goals\n")
    g1 = summary["goal_requests"]
    if len(runs) < 2:
        say("- requests per query do not grow with catalogue size: not checked (one size only)")
    else:
        verdict = "MET" if g1["met"] else "NOT MET"
        say(
            f"- requests per query do not grow with catalogue size ({', '.join(f'{s:,}' for s in g1['compared_sizes'])}"
            f"): {verdict}" + (f", {len(g1['grew'])} (query, size) pairs grew:" if g1["grew"] else "")
        )
        grown_kinds = Counter((g["size"], g["kind"]) for g in g1["grew"])
        for (size, kind), n in sorted(grown_kinds.items()):
            worst = max(
                (g for g in g1["grew"] if g["size"] == size and g["kind"] == kind),
                key=lambda g: g["requests"] - g["at_smallest"],
            )
            say(
                f"    {size:,} {kind}: {n} queries, e.g. {worst['query']} {worst['at_smallest']} -> {worst['requests']}"
            )
    g2 = summary["goal_speed"]
    if not g2["measured_at_goal_size"]:
        say(
            f"- median latency at 100,000 products at least {SPEED_GOAL:.0f}x better than the scan: not measured "
            f"(largest size {g2['size']:,}: {g2['ratio']:.0f}x)"
        )
    else:
        say(
            f"- median latency at 100,000 products at least {SPEED_GOAL:.0f}x better than the scan: "
            f"{'MET' if g2['met'] else 'NOT MET'} ({g2['ratio']:.0f}x)"
        )
    warning = load_warning()
    if warning:
        say(warning)
    if args.moto_as_is:
        say("note: --moto-as-is: moto's Query/Scan cost grows with the table size (bench/motoscale.py)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES), help="catalogue sizes")
    parser.add_argument(
        "--scan-sample",
        default="20,10,3",
        help="scan-baseline queries timed per size, in the order of --sizes (the last applies to further sizes); "
        "a full Scan costs ~1 s per 1,000 products here",
    )
    parser.add_argument(
        "--verify",
        type=int,
        default=VERIFY_PRODUCTS,
        help="products indexed both ways to check the bulk path (0: skip)",
    )
    parser.add_argument(
        "--path",
        choices=("handler", "index"),
        default="handler",
        help="measure the ListProducts handler (default) or DynamoSearchIndex.search alone",
    )
    parser.add_argument("--moto-as-is", action="store_true", help="do not patch moto's Query/Scan (small sizes only)")
    args = parser.parse_args(argv)
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    samples = [int(n) for n in str(args.scan_sample).split(",") if n.strip()]
    args.scan_sample_for = lambda size: samples[min(sizes.index(size), len(samples) - 1)]
    vocab = vocabulary()
    plan = queries(vocab)
    say(
        f"search benchmark: sizes {', '.join(f'{s:,}' for s in sizes)}; {len(plan)} queries "
        f"({', '.join(f'{k} {n}' for k, n in KIND_COUNTS.items())})"
    )
    runs: list[dict[str, Any]] = []
    settings = {
        **{k: v for k, v in vars(args).items() if not callable(v)},
        "sizes": sizes,
        "scan_samples": [args.scan_sample_for(s) for s in sizes],
        "moto_patched": not args.moto_as_is,
    }
    for size in sizes:
        runs.append(run_size(size, vocab, plan, args))
        # Written after every size: a run of all three takes most of an hour here, and a late failure (or a kill)
        # must not lose the sizes already measured.
        partial = {"machine": machine(), "settings": settings, "complete": False, "runs": runs}
        write_json("search.json", partial)
        s = summarise(runs)["sizes"][-1]  # a first look while the larger sizes run
        speed_up = f"{s['ratio']:.0f}x" if s["ratio"] else "-"
        say(
            f"  => search median {ms(s['search_median_ms'], 1)} ms (p95 {ms(s['search_p95_ms'], 1)}), scan median "
            f"{ms(s['scan_median_ms'])} ms over {s['scan_queries']} queries, speed-up "
            f"{speed_up}; requests/query median {s['requests_median']:g}, max {s['requests_max']}; "
            f"{s['inexact']} inexact, {s['errors']} errors"
        )
    summary = summarise(runs)
    print_report(runs, summary, args)
    payload = {
        "machine": machine(),
        "settings": settings,
        "complete": True,
        "queries": [{**asdict(q), "label": q.label()} for q in plan],
        "runs": runs,
        "summary": summary,
    }
    say(f"\nwrote {write_json('search.json', payload)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
