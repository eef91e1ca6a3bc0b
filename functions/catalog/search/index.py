"""The search index: its protocol, and the storage-agnostic part of answering a query.

:class:`SearchIndex` is what the service layer, the consumer and the benchmark use. Its DynamoDB implementation is
:class:`functions.catalog.search.dynamo.DynamoSearchIndex`; a search engine (OpenSearch Serverless) would be a second
implementation chosen in the composition root (see that module's docstring), with no change to handlers.

What a product is indexed under (:func:`document`): the terms of its name, brand, SKUs, category names, option values
and the start of its description (:mod:`.text`), each with a bit mask of the fields it occurs in, plus filter terms
(``~all``, ``~c:<category>`` for every category on its path, ``~b:<brand>``) that let a query without keywords (a
category page asking for facets) start from the smallest posting list. Only active products are indexed.

Relevance: the sum, over the query's terms, of the weights of the fields each occurs in (a name match outranks a
description match), plus a bonus when every term is in the name; ties go to the newest product.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from functions.catalog.model import Product, ProductSummary
from functions.catalog.search.model import (
    FacetCount,
    FacetName,
    Facets,
    PriceBand,
    SearchPage,
    SearchQuery,
    SearchSort,
    Suggestion,
    SuggestionKind,
)
from functions.catalog.search.text import QueryPlan, QueryWord, index_terms, normalise

NAME, BRAND, SKU, CATEGORY, OPTION, DESCRIPTION = 1, 2, 4, 8, 16, 32
FIELD_WEIGHTS = {NAME: 10, BRAND: 6, SKU: 8, CATEGORY: 4, OPTION: 3, DESCRIPTION: 1}
NAME_BONUS = 10
DESCRIPTION_CHARS = 300  # bounds a product's postings: a long description adds little but noise
MAX_TERM_LENGTH = 64
ALL = "~all"
SUGGESTION_RANK: dict[SuggestionKind, int] = {"brand": 0, "category": 1, "product": 2}
# Price bands for the facet, in minor units (CNY fen): under 100, 100-500, 500-1,000, 1,000-2,000, 2,000-5,000,
# 5,000-10,000 yuan, and above.
PRICE_BANDS: tuple[int, ...] = (0, 100_00, 500_00, 1_000_00, 2_000_00, 5_000_00, 10_000_00)


def category_term(category_id: str) -> str:
    return f"~c:{category_id}"


def brand_term(brand_id: str) -> str:
    return f"~b:{brand_id}"


def weight(fields: int) -> int:
    return sum(w for bit, w in FIELD_WEIGHTS.items() if fields & bit)


# --- what a product is indexed under -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Posting:
    """One product under one term: its field mask and what ranking, filtering and a product card need."""

    product_id: str
    fields: int
    card: dict[str, Any]  # ProductSummary as JSON plus category_path/category_names

    @property
    def price(self) -> int:
        return int(self.card["price"]["amount"])

    @property
    def created_at(self) -> str:
        return str(self.card["created_at"])

    @property
    def brand_id(self) -> str:
        return str(self.card["brand_id"])

    @property
    def category_path(self) -> list[str]:
        return list(self.card["category_path"])

    def summary(self) -> ProductSummary:
        return ProductSummary.model_validate(self.card)


@dataclass(frozen=True)
class Document:
    """Everything a product contributes to the index."""

    product_id: str
    version: int
    terms: dict[str, int]  # term -> field mask; empty for a product that is not visible
    card: dict[str, Any]
    suggestions: frozenset[tuple[SuggestionKind, str]]

    def card_json(self) -> str:
        return json.dumps(self.card, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def document(product: Product) -> Document:
    if not product.visible:
        return Document(product.product_id, product.version, {}, {}, frozenset())
    masks: dict[str, int] = {}

    def add(text: str, bit: int) -> None:
        for term in index_terms(text):
            if len(term) <= MAX_TERM_LENGTH:
                masks[term] = masks.get(term, 0) | bit

    add(product.name, NAME)
    add(product.brand_name, BRAND)
    for variant in product.variants:
        add(variant.sku, SKU)
        for value in variant.options.values():
            add(value, OPTION)
    for name in product.category_names:
        add(name, CATEGORY)
    add(product.description[:DESCRIPTION_CHARS], DESCRIPTION)
    for term in (ALL, brand_term(product.brand_id), *(category_term(c) for c in product.category_path)):
        masks[term] = 0
    card = ProductSummary.of(product).model_dump(mode="json")
    card.update(category_path=product.category_path, category_names=product.category_names)
    suggestions: set[tuple[SuggestionKind, str]] = {("product", product.name), ("brand", product.brand_name)}
    suggestions.update(("category", n) for n in product.category_names)
    return Document(product.product_id, product.version, masks, card, frozenset(suggestions))


# --- answering a query ---------------------------------------------------------------------------------------------

Fetch = Callable[[str], tuple[list[Posting], bool]]  # term -> its postings, and whether that is all of them


@dataclass
class Candidate:
    posting: Posting
    score: int = 0
    all_in_name: bool = True


@dataclass
class Matched:
    candidates: list[Candidate]
    exact: bool = True
    lookups: int = 0


def _word_hits(word: QueryWord, fetch: Fetch, result: Matched) -> dict[str, Candidate]:
    if word.exact is not None:
        postings, complete = fetch(word.exact)
        result.lookups += 1
        result.exact &= complete
        if postings:
            return {p.product_id: Candidate(p, weight(p.fields), bool(p.fields & NAME)) for p in postings}
    hits: dict[str, Candidate] | None = None
    for term in word.terms:
        postings, complete = fetch(term)
        result.lookups += 1
        result.exact &= complete
        found = {p.product_id: p for p in postings}
        if hits is None:
            hits = {pid: Candidate(p, weight(p.fields), bool(p.fields & NAME)) for pid, p in found.items()}
        else:
            hits = {pid: c for pid, c in hits.items() if pid in found}
            for pid, c in hits.items():
                c.score += weight(found[pid].fields)
                c.all_in_name &= bool(found[pid].fields & NAME)
        if not hits:
            return {}
    return hits or {}


def match(plan: QueryPlan, fetch: Fetch) -> Matched:
    """The products that match every word of ``plan``, scored. Stops reading as soon as a word matches nothing."""
    result = Matched([])
    current: dict[str, Candidate] | None = None
    for word in plan.words:
        hits = _word_hits(word, fetch, result)
        if current is None:
            current = hits
        else:
            current = {pid: c for pid, c in current.items() if pid in hits}
            for pid, c in current.items():
                c.score += hits[pid].score
                c.all_in_name &= hits[pid].all_in_name
        if not current:
            break
    for c in (current or {}).values():
        if c.all_in_name and c.score:
            c.score += NAME_BONUS
    result.candidates = list((current or {}).values())
    return result


def filter_plan(query: SearchQuery) -> QueryPlan:
    """For a query without keywords: the single smallest posting list that holds every product the filters allow."""
    if query.category:
        term = category_term(query.category)
    elif query.brand:
        term = brand_term(query.brand)
    else:
        term = ALL
    return QueryPlan((QueryWord(term, (term,)),))


def keep(candidate: Candidate, query: SearchQuery) -> bool:
    p = candidate.posting
    if query.category and query.category not in p.category_path:
        return False
    if query.brand and p.brand_id != query.brand:
        return False
    if query.min_price is not None and p.price < query.min_price:
        return False
    return not (query.max_price is not None and p.price > query.max_price)


def rank(candidates: Iterable[Candidate], sort: SearchSort) -> list[Candidate]:
    ordered = sorted(candidates, key=lambda c: c.posting.product_id, reverse=True)  # stable tie-break
    ordered.sort(key=lambda c: c.posting.created_at, reverse=True)
    if sort == "relevance":
        ordered.sort(key=lambda c: c.score, reverse=True)
    elif sort == "price_asc":
        ordered.sort(key=lambda c: c.posting.price)
    elif sort == "price_desc":
        ordered.sort(key=lambda c: c.posting.price, reverse=True)
    return ordered


def price_band(amount: int) -> int:
    band = 0
    for i, low in enumerate(PRICE_BANDS):
        if amount >= low:
            band = i
    return band


def facets(candidates: list[Candidate], query: SearchQuery, names: Iterable[FacetName]) -> Facets:
    """Counts over the filtered matches: categories one level below the category filter (top-level ones without
    it; products directly in the filtered category are in no child), brands, and price bands (non-empty ones)."""
    wanted = set(names)
    out = Facets()
    if "category" in wanted:
        counts: Counter[str] = Counter()
        labels: dict[str, str] = {}
        for c in candidates:
            path, labels_on_path = c.posting.category_path, c.posting.card["category_names"]
            depth = path.index(query.category) + 1 if query.category in path else 0
            if depth < len(path):
                counts[path[depth]] += 1
                labels[path[depth]] = labels_on_path[depth]
        out.category = [FacetCount(value=k, label=labels[k], count=n) for k, n in _by_count(counts, labels)]
    if "brand" in wanted:
        counts = Counter(c.posting.brand_id for c in candidates)
        labels = {c.posting.brand_id: str(c.posting.card["brand_name"]) for c in candidates}
        out.brand = [FacetCount(value=k, label=labels[k], count=n) for k, n in _by_count(counts, labels)]
    if "price" in wanted:
        bands = Counter(price_band(c.posting.price) for c in candidates)
        out.price = [
            PriceBand(
                min_price=PRICE_BANDS[i],
                max_price=PRICE_BANDS[i + 1] if i + 1 < len(PRICE_BANDS) else None,
                count=bands[i],
            )
            for i in sorted(bands)
        ]
    return out


def _by_count(counts: Counter[str], labels: dict[str, str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], labels[kv[0]].casefold(), kv[0]))


@dataclass
class Ranked:
    """A whole result set, before paging."""

    ranked: list[Candidate]
    exact: bool
    facets: Facets | None = None
    lookups: int = field(default=0)


def evaluate(plan: QueryPlan, query: SearchQuery, fetch: Fetch) -> Ranked:
    matched = match(plan, fetch) if not plan.empty else Matched([])
    kept = [c for c in matched.candidates if keep(c, query)]
    out = Ranked(rank(kept, query.effective_sort), matched.exact, lookups=matched.lookups)
    if query.facets:
        out.facets = facets(kept, query, query.facets)
    return out


def suggestion_matches(text: str, required: Iterable[str]) -> bool:
    folded = normalise(text)
    return all(r in folded for r in required)


# --- the protocol --------------------------------------------------------------------------------------------------


class SearchIndex(Protocol):
    def apply(self, product: Product) -> bool:
        """Index ``product`` as it is at its version (an inactive one is removed). Safe to repeat; returns False,
        changing nothing, when the index already holds this version or a newer one."""
        ...

    def search(self, query: SearchQuery) -> SearchPage: ...

    def suggest(self, prefix: str, limit: int = 10) -> list[Suggestion]: ...


@dataclass
class RebuildReport:
    applied: int = 0
    stale: int = 0


def rebuild(index: SearchIndex, products: Iterable[Product]) -> RebuildReport:
    """Apply each product through the version guard, so a rebuild never undoes a newer event."""
    report = RebuildReport()
    for product in products:
        if index.apply(product):
            report.applied += 1
        else:
            report.stale += 1
    return report
