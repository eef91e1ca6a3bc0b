"""Requests and responses of keyword search. Plain pydantic, no I/O."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.catalog.model import ProductPage

SearchSort = Literal["relevance", "newest", "price_asc", "price_desc"]
FacetName = Literal["category", "brand", "price"]
FACET_NAMES: tuple[FacetName, ...] = ("category", "brand", "price")
SuggestionKind = Literal["brand", "category", "product"]


class SearchQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    q: str = Field(default="", max_length=200)
    category: str | None = None
    brand: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    sort: SearchSort | None = Field(default=None, description="Default: relevance with q, newest without")
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = None
    facets: frozenset[FacetName] = frozenset()

    @property
    def effective_sort(self) -> SearchSort:
        if self.sort is not None:
            return self.sort
        return "relevance" if self.q.strip() else "newest"


class FacetCount(BaseModel):
    value: str = Field(description="The category or brand id to filter by")
    label: str
    count: int


class PriceBand(BaseModel):
    min_price: int = Field(description="Minor units, inclusive")
    max_price: int | None = Field(description="Minor units, exclusive; null for the open top band")
    count: int


class Facets(BaseModel):
    category: list[FacetCount] | None = Field(
        default=None, description="Top-level categories, or the children of the category filtered by"
    )
    brand: list[FacetCount] | None = None
    price: list[PriceBand] | None = None


class SearchPage(ProductPage):
    """A listing page (``items``, ``next_cursor``) with what only a search knows."""

    total: int = Field(description="Products matching the query and filters")
    exact: bool = Field(
        description="False when a term matched more products than one search reads (then total and "
        "facets count only those read)"
    )
    facets: Facets | None = None
    search_id: str | None = Field(default=None, description="Pass to the product page to attribute the view")


class Suggestion(BaseModel):
    text: str
    kind: SuggestionKind
    count: int = Field(description="Active products behind the suggestion")


class SuggestionList(BaseModel):
    items: list[Suggestion]
