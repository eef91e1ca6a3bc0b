"""One rule for free text that shoppers or staff type and that other people will see (names, descriptions, option
values): no control characters, no invisible format characters (zero-width spaces, bidi overrides that make a name
render differently from what it is), no private-use or lone surrogate code points, and no angle brackets, so no
client ever has to wonder whether a product name is markup. Newlines and tabs are allowed only in multi-line text.
"""

from __future__ import annotations

import unicodedata

_REFUSED_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn"}
_MULTILINE_OK = {"\n", "\t", "\r"}


def plain_text(value: str, multiline: bool = False) -> str:
    text = value.strip()
    for char in text:
        if char in "<>":
            raise ValueError("must not contain angle brackets")
        if unicodedata.category(char) in _REFUSED_CATEGORIES and not (multiline and char in _MULTILINE_OK):
            raise ValueError(f"must not contain control or invisible characters (U+{ord(char):04X})")
    return text


def plain_line(value: str) -> str:
    return plain_text(value)


def plain_paragraphs(value: str) -> str:
    return plain_text(value, multiline=True)
