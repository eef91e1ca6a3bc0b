"""The one rule set for masking personal data: partner API responses (DESIGN.md, issue 7) and every log line.

Standard library only, so that importing it costs nothing in any function. No masker ever raises and none mutates
its input; a masked value is always a ``str`` (``""`` for an empty input).

Rules
-----
* **Names** (:func:`mask_name`): surrounding and repeated whitespace is ignored.

  - A name containing any CJK character (Han, kana, Hangul) keeps only its first character; every other character
    becomes ``*`` and spaces are dropped: ``张三`` → ``张*``, ``欧阳娜娜`` → ``欧***``, ``欧阳 娜娜`` → ``欧***``,
    ``李Lucy`` → ``李****``.
  - Any other name keeps the first character of each word, one ``*`` per further character, words joined by one
    space: ``John Doe`` → ``J*** D**``.
  - A name (or Latin word) of one character is masked entirely: ``张`` → ``*``, ``J`` → ``*``.

* **Phones** (:func:`mask_phone`): spaces, dashes, dots and parentheses are ignored; a leading ``00`` is read as
  ``+``. An international number is written ``+<country code> <masked national number>`` — with a space:
  ``+8613812345678`` → ``+86 138****1234``. The country code is the digit group the caller separated from the rest
  (``+44 7700 900123``) or, when written without separators, one of :data:`COUNTRY_CODES`; an unknown unseparated
  code is masked as part of the number. A national number of 8 digits or more keeps its first 3 and last 4 digits
  (``13812345678`` → ``138****1234``); a shorter one keeps only its last 2 (``12345`` → ``***45``); 2 digits or
  fewer are masked entirely. Anything that is not a phone number (letters, no digits) becomes ``***``.

* **Emails** (:func:`mask_email`): the local part becomes its first character and a fixed ``***`` (so its length is
  not revealed; a plus tag goes with it), the domain is kept as written: ``john+shop@mail.example.com`` →
  ``j***@mail.example.com``. A one-character local part is ``***`` alone. Anything that is not ``local@domain.tld``
  becomes ``***``.

* **Street lines** (:func:`mask_street`): nothing is kept; any non-empty line is a fixed ``***``.

* **Addresses** (:func:`mask_address`): ``recipient``/``name`` as names, ``phone`` as a phone, ``email`` as an
  email, ``street`` (and ``line1``/``line2``/``address_line1``…) as street lines. ``region``, ``city``,
  ``district``, ``country`` **and ``postcode`` are kept**: a postcode covers a district-sized area, identifies no one
  and is what a carrier routes on. Any other field goes through :func:`mask_personal`.

* **Any JSON-like value** (:func:`mask_personal`): dicts, lists and tuples are walked (copies are returned); a value
  is masked when its key is one of :data:`PERSONAL_FIELDS`. Keys match case-insensitively and ignoring ``_``, ``-``,
  ``.`` and spaces, so ``Phone``, ``phone_number``, ``phoneNumber`` and ``recipient-phone`` all match. Under a
  personal key (with the default fields, also any key ending in ``email`` or ``phone``: ``customer_email``,
  ``contactPhone``): a string or number is masked by that field's rule (numbers as their text); ``None`` and
  booleans are kept; a dict or list under an address key is masked as address(es); a dict or list under another
  personal key has every leaf masked by that key's rule. Nesting deeper than :data:`MAX_DEPTH` is replaced by ``***``.

* **Free text** (:func:`mask_text`, used for log messages and exception text): email addresses and phone numbers
  (``+`` and 8 to 15 digits, or a Chinese mobile ``1[3-9]`` + 9 digits) found inside a string are masked in place.

``name`` matches any ``name`` field, a product's or a warehouse's too; logs accept that over-masking. A caller that
must keep such fields (a partner product listing) passes its own ``fields`` to :func:`mask_personal`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "COUNTRY_CODES",
    "MAX_DEPTH",
    "PERSONAL_FIELDS",
    "mask_address",
    "mask_email",
    "mask_name",
    "mask_personal",
    "mask_phone",
    "mask_street",
    "mask_text",
]

MASK = "***"
MAX_DEPTH = 32

# Country calling codes recognised when a number is written without a separator after the code (+8613812345678).
COUNTRY_CODES = frozenset(
    {"1", "7", "33", "44", "49", "60", "61", "65", "66", "81", "82", "84", "86", "852", "853", "886"}
)

_CJK = re.compile(
    "[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]"
)
_PHONE_CHARS = re.compile(r"^\+?[0-9 ().-]+$")
_SEPARATORS = re.compile(r"[ ().-]+")
_EMAIL = re.compile(r"^([^@\s]+)@([^@\s]+\.[^@\s.][^@\s]*)$")
_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE_IN_TEXT = re.compile(r"(?<![\w+])(?:\+\d{8,15}|1[3-9]\d{9})(?!\w)")


def _text(value: object) -> str | None:
    """The text to mask, or None when there is nothing personal in the value (None, booleans)."""
    if value is None or isinstance(value, bool):
        return None
    return value if isinstance(value, str) else str(value)


def mask_name(value: object) -> str:
    s = _text(value)
    if s is None:
        return ""
    words = s.split()
    if not words:
        return ""
    if _CJK.search(s):
        joined = "".join(words)
        return "*" if len(joined) == 1 else joined[0] + "*" * (len(joined) - 1)
    return " ".join("*" if len(w) == 1 else w[0] + "*" * (len(w) - 1) for w in words)


def _mask_digits(digits: str) -> str:
    n = len(digits)
    if n >= 8:
        return digits[:3] + "*" * (n - 7) + digits[-4:]
    if n > 2:
        return "*" * (n - 2) + digits[-2:]
    return "*" * n


def mask_phone(value: object) -> str:
    s = _text(value)
    if s is None:
        return ""
    s = s.strip()
    if not s:
        return ""
    if not _PHONE_CHARS.match(s) or not any(c.isdigit() for c in s):
        return MASK
    international = s.startswith("+") or _SEPARATORS.sub("", s).startswith("00")
    if not international:
        return _mask_digits(_SEPARATORS.sub("", s))
    body = s[1:].lstrip() if s.startswith("+") else _SEPARATORS.sub("", s)[2:]
    groups = [g for g in _SEPARATORS.split(body) if g]
    if not groups:
        return MASK
    code = ""
    if len(groups) > 1 and len(groups[0]) <= 3:
        code, national = groups[0], "".join(groups[1:])
    else:
        digits = "".join(groups)
        code = next((digits[:k] for k in (1, 2, 3) if digits[:k] in COUNTRY_CODES and len(digits) - k >= 6), "")
        national = digits[len(code) :]
    return f"+{code} {_mask_digits(national)}" if code else "+" + _mask_digits(national)


def mask_email(value: object) -> str:
    s = _text(value)
    if s is None:
        return ""
    s = s.strip()
    if not s:
        return ""
    m = _EMAIL.match(s)
    if not m:
        return MASK
    local, domain = m.groups()
    return (MASK if len(local) == 1 else local[0] + MASK) + "@" + domain


def mask_street(value: object) -> str:
    s = _text(value)
    return MASK if s and s.strip() else ""


def _key(k: object) -> str:
    return re.sub(r"[\s_.-]+", "", str(k)).casefold()


_NAME_FIELDS = {
    "name", "fullname", "firstname", "lastname", "middlename", "givenname", "familyname", "surname", "displayname",
    "nickname", "recipient", "recipientname", "contactname", "consignee", "consigneename", "username", "realname",
}  # fmt: skip
_PHONE_FIELDS = {
    "phone", "phonenumber", "mobile", "mobilephone", "mobilenumber", "tel", "telephone", "recipientphone",
    "contactphone", "consigneephone",
}  # fmt: skip
_EMAIL_FIELDS = {"email", "emailaddress", "mail", "contactemail", "recipientemail"}
_STREET_FIELDS = {"street", "streetline", "street1", "street2", "line1", "line2", "addressline1", "addressline2"}
_ADDRESS_FIELDS = {"address", "addresses", "shippingaddress", "billingaddress", "deliveryaddress", "streetaddress"}

_RULES: dict[str, Callable[[object], str]] = {
    **dict.fromkeys(_NAME_FIELDS, mask_name),
    **dict.fromkeys(_PHONE_FIELDS, mask_phone),
    **dict.fromkeys(_EMAIL_FIELDS, mask_email),
    **dict.fromkeys(_STREET_FIELDS, mask_street),
}
#: Every field name masked by :func:`mask_personal`, normalised (lower case, no ``_``/``-``/``.``/spaces).
PERSONAL_FIELDS = frozenset(_RULES) | frozenset(_ADDRESS_FIELDS)


def mask_address(value: object) -> Any:
    """An address dict with its personal fields masked (see the module's rules); a string is a street line."""
    return _address(value, PERSONAL_FIELDS, 0)


def mask_personal(data: Any, fields: frozenset[str] | set[str] | None = None) -> Any:
    """A copy of ``data`` with every value under a personal field name masked. ``fields`` (names normalised as in
    :data:`PERSONAL_FIELDS`, which is the default) narrows or widens what counts as personal."""
    return _walk(data, PERSONAL_FIELDS if fields is None else frozenset(_key(f) for f in fields), 0)


def _walk(data: Any, fields: frozenset[str], depth: int) -> Any:
    if depth > MAX_DEPTH:
        return MASK
    if isinstance(data, Mapping):
        return {k: _field(k, v, fields, depth + 1) for k, v in data.items()}
    if isinstance(data, list | tuple):
        items = [_walk(v, fields, depth + 1) for v in data]
        return items if isinstance(data, list) else tuple(items)
    return data


def _field(key: object, value: Any, fields: frozenset[str], depth: int) -> Any:
    k = _key(key)
    if k not in fields and fields is PERSONAL_FIELDS and k.endswith(("email", "phone")):
        k = "email" if k.endswith("email") else "phone"  # customer_email, contactPhone, …
    if k not in fields:
        return _walk(value, fields, depth)
    if k in _ADDRESS_FIELDS:
        return _address(value, fields, depth)
    return _leaves(value, _RULES.get(k, lambda v: MASK), depth)


def _leaves(value: Any, rule: Callable[[object], str], depth: int) -> Any:
    if depth > MAX_DEPTH:
        return MASK
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Mapping):
        return {k: _leaves(v, rule, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_leaves(v, rule, depth + 1) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return rule(value)


def _address(value: Any, fields: frozenset[str], depth: int) -> Any:
    if depth > MAX_DEPTH:
        return MASK
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Mapping):
        # Every personal field (recipient, phone, street…) of the address is masked whatever ``fields`` says.
        return {k: _field(k, v, fields | PERSONAL_FIELDS, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_address(v, fields, depth + 1) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return mask_street(value)


def mask_text(value: object) -> Any:
    """Free text with the email addresses and phone numbers inside it masked; a non-string is returned as it is."""
    if not isinstance(value, str) or not value:
        return value
    masked = _EMAIL_IN_TEXT.sub(lambda m: mask_email(m.group(0)), value)
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), masked)
