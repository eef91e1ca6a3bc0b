"""Text analysis for search: the same rules turn product texts into index terms and a shopper's query into the terms
to look up. Pure functions, no I/O, standard library only (a segmentation dictionary such as jieba's would cost
seconds of cold start).

* Normalisation: NFKC (full-width letters and digits become ASCII, compatibility ideographs their unified form),
  then ``casefold``.
* Runs: the text splits into CJK runs (Han, kana, hangul) and latin runs (letters and digits, optionally joined by
  ``-``, ``.``, ``_``, ``/`` as in SKUs and model numbers); everything else separates.
* CJK runs, having no spaces between words, are indexed as overlapping character bigrams (``华为智能手机`` ->
  华为, 为智, 智能, 能手, 手机), plus the character itself for a one-character run. A query run is covered by
  non-overlapping bigrams (``蓝牙耳机`` -> 蓝牙 + 耳机; odd lengths end with an overlapping one: ``降噪耳`` ->
  降噪 + 噪耳), so a query matches any text containing it, with a false positive only when all its bigrams occur
  apart. A one-character query finds only one-character runs: the price of not indexing every character alone.
* Latin words are lower-cased and lightly stemmed (plural endings only: headphones -> headphone, batteries ->
  battery, boxes -> box, glasses -> glass), in the index and in queries alike.
* Codes: a joined run such as ``hw-m60p-blk-256`` is indexed whole and by its parts (hw, m60p, blk, 256); a word
  mixing letters and digits (``mate60``, ``256gb``) also by its letter and digit parts, so "mate 60" finds
  "Mate60". A code in a query matches its exact code, or, only when nothing has the exact code, all of its parts
  (so "mate60" finds "Mate 60", and a full SKU costs one lookup).
* A few English function words (the, and, for, ...) are neither indexed nor required.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_QUERY_TERMS = 8
MAX_CODE_PARTS = 8
LATIN_PREFIX_MAX = 10
CJK_PREFIX_MAX = 4

_CJK_CLASS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK_CLASS}]+")
_ALNUM = rf"[^\W_{_CJK_CLASS}]+"
_LATIN_RUN = re.compile(rf"{_ALNUM}(?:[-._/]{_ALNUM})*")
_RUN = re.compile(f"[{_CJK_CLASS}]+|{_LATIN_RUN.pattern}")
_PART = re.compile(_ALNUM)
_LETTERS_OR_DIGITS = re.compile(r"\d+|[^\W\d_]+")
_KEEP_S = ("ss", "us", "is", "os")
_STOPWORDS = frozenset({"a", "an", "and", "the", "of", "for", "with", "in", "on", "to", "by", "or", "at"})
_NOT_PLURAL = frozenset({"series", "species", "news", "lens", "plus", "gas", "yes", "this", "ios", "macos"})


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def is_cjk(run: str) -> bool:
    return bool(_CJK_RUN.fullmatch(run))


def stem(word: str) -> str:
    """Strip an English plural ending; leave anything that might not be one (codes, short words, ``-ss``)."""
    if len(word) <= 3 or not word.isalpha() or word in _NOT_PLURAL:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zzes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(_KEEP_S):
        return word[:-1]
    return word


def runs(text: str) -> list[str]:
    """The CJK and latin runs of the normalised ``text``, in order."""
    return _RUN.findall(normalise(text))


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _query_bigrams(run: str) -> list[str]:
    if len(run) <= 2:
        return [run]
    grams = [run[i : i + 2] for i in range(0, len(run) - 1, 2)]
    if len(run) % 2:
        grams.append(run[-2:])
    return grams


def _latin_terms(run: str) -> set[str]:
    parts = _PART.findall(run)
    if len(parts) == 1:
        word = parts[0]
        terms = {stem(word)}
        pieces = _LETTERS_OR_DIGITS.findall(word)
        if len(pieces) > 1:
            terms.update(pieces[:MAX_CODE_PARTS])
        return terms - _STOPWORDS
    return {run, *parts[:MAX_CODE_PARTS]}


def index_terms(text: str) -> set[str]:
    """Every term under which ``text`` can be found."""
    terms: set[str] = set()
    for run in runs(text):
        if is_cjk(run):
            terms.update(_bigrams(run))
        else:
            terms.update(_latin_terms(run))
    return terms


@dataclass(frozen=True)
class QueryWord:
    """One word of a query; a product matches it when it has every one of ``terms``. A code also matches when it
    has the ``exact`` term (the whole code), which is tried first because it is far more selective."""

    text: str
    terms: tuple[str, ...]
    exact: str | None = None


@dataclass(frozen=True)
class QueryPlan:
    words: tuple[QueryWord, ...]
    truncated: bool = False  # the query had more than MAX_QUERY_TERMS terms; the rest were not required

    @property
    def terms(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for w in self.words:
            for t in (w.exact, *w.terms):
                if t:
                    seen[t] = None
        return tuple(seen)

    @property
    def empty(self) -> bool:
        return not self.words

    def fingerprint(self) -> str:
        return "|".join(f"{w.exact or ''}:{','.join(w.terms)}" for w in self.words)


def _query_word(run: str) -> QueryWord | None:
    if is_cjk(run):
        return QueryWord(run, tuple(dict.fromkeys(_query_bigrams(run))))
    parts = _PART.findall(run)
    if len(parts) == 1:
        pieces = _LETTERS_OR_DIGITS.findall(parts[0])
        if len(pieces) > 1:  # "mate60" is also "Mate 60"
            return QueryWord(run, tuple(dict.fromkeys(pieces[:MAX_CODE_PARTS])), exact=run)
        word = stem(parts[0])
        return None if word in _STOPWORDS else QueryWord(run, (word,))
    return QueryWord(run, tuple(dict.fromkeys(parts[:MAX_CODE_PARTS])), exact=run)


def plan_query(q: str, max_terms: int = MAX_QUERY_TERMS) -> QueryPlan:
    """The words a product must all match. Punctuation, emoji and stop words alone give an empty plan, which
    matches nothing. Beyond ``max_terms`` lookups the remaining words are dropped (and the plan says so) rather
    than refusing a shopper who pasted a whole product name."""
    words: list[QueryWord] = []
    seen: set[QueryWord] = set()
    budget = max_terms
    truncated = False
    for run in runs(q):
        word = _query_word(run)
        if word is None or word in seen:
            continue
        cost = len(word.terms) + (1 if word.exact else 0)
        if cost > budget:
            truncated = True
            break
        seen.add(word)
        words.append(word)
        budget -= cost
    return QueryPlan(tuple(words), truncated)


def prefixes(text: str) -> set[str]:
    """The prefixes under which a suggestion text is found as the shopper types: those of each latin word (1 to
    ``LATIN_PREFIX_MAX`` characters) and, since CJK has no word boundaries, those starting at every character of a
    CJK run (1 to ``CJK_PREFIX_MAX`` characters)."""
    out: set[str] = set()
    for run in runs(text):
        if is_cjk(run):
            for start in range(len(run)):
                out.update(run[start : start + n] for n in range(1, min(CJK_PREFIX_MAX, len(run) - start) + 1))
        else:
            for part in {run, *_PART.findall(run)}:
                out.update(part[:n] for n in range(1, min(LATIN_PREFIX_MAX, len(part)) + 1))
    return out


def typed_prefix(q: str) -> tuple[str, tuple[str, ...]]:
    """What the shopper typed, as the prefix to look up (the start of the last run, bounded like the stored
    prefixes) and the runs a suggestion must contain (all of them, the last one in full)."""
    found = runs(q)
    if not found:
        return "", ()
    last = found[-1]
    bound = CJK_PREFIX_MAX if is_cjk(last) else LATIN_PREFIX_MAX
    return last[:bound], tuple(found)
