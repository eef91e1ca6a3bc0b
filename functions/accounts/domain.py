"""The accounts domain: what a valid email, name, phone and password are, and the records the service deals in.

Plain Python with no I/O. The request models (``models.py``) and the service (``service.py``) both apply these
rules, so a value is judged the same way whether it arrives over HTTP or from another caller of the service.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from functions.shared.wiring import ALL_ROLES, STAFF_ROLES

CUSTOMER_GROUP = "customer"
ADMIN_GROUP = "admin"

# Cognito's Username is at most 128 characters and the email *is* the username in this pool, so a longer address
# could never sign up; refusing it here keeps it from reaching Cognito as an InvalidParameterException (a 500).
EMAIL_MAX = 128
NAME_MAX = 100
# Cognito accepts passwords up to 256 characters; anything longer is refused before it is sent anywhere.
PASSWORD_MAX = 256

_EMAIL_RE = re.compile(
    r"^(?=.{1,64}@)[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$"
)
# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
_PHONE_RE = re.compile(r"^\+[1-9][0-9]{1,14}$")
# Control characters, surrogates and line/paragraph separators cannot be displayed or stored faithfully.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
# Bidirectional embeddings, overrides and isolates let a name render as something other than what it is.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Names are shown in storefront and back-office pages and e-mails; refusing markup keeps every renderer safe.
_MARKUP = frozenset("<>")


def normalise_email(raw: str) -> str:
    """Trimmed and lower-cased: Cognito usernames are case-sensitive unless the pool says otherwise, and two
    accounts for ``Ann@x.com`` and ``ann@x.com`` would be one person with two logins."""
    return raw.strip().lower()


def check_email(raw: str) -> str:
    email = normalise_email(raw)
    if len(email) > EMAIL_MAX:
        raise ValueError(f"email must be at most {EMAIL_MAX} characters")
    if not _EMAIL_RE.match(email):
        raise ValueError("email is not a valid address")
    return email


def could_be_username(email: str) -> bool:
    """Whether Cognito would even accept ``email`` as a Username (1..128 letters, marks, symbols, digits and
    punctuation: no spaces or control characters). Anything else it rejects as a malformed request."""
    return 0 < len(email) <= EMAIL_MAX and all(unicodedata.category(c)[0] in "LMSNP" for c in email)


def check_name(raw: str) -> str:
    name = raw.strip()
    if not name:
        raise ValueError("name must not be empty")
    if len(name) > NAME_MAX:
        raise ValueError(f"name must be at most {NAME_MAX} characters")
    for char in name:
        if char in _MARKUP:
            raise ValueError("name must not contain '<' or '>'")
        if char in _BIDI_CONTROLS or unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise ValueError("name must not contain control characters")
    return name


def check_phone(raw: str) -> str:
    phone = raw.strip()
    if not _PHONE_RE.match(phone):
        raise ValueError("phone must be in E.164 format, e.g. +8613812345678")
    return phone


@dataclass(frozen=True)
class PasswordPolicy:
    """The user pool's password policy, so a weak password is refused with a message that says what is needed
    (Cognito's own message names only the first rule broken) and without spending a SignUp call on it."""

    minimum_length: int = 8
    require_uppercase: bool = True
    require_lowercase: bool = True
    require_numbers: bool = True
    require_symbols: bool = False

    def describe(self) -> str:
        needs = [
            label
            for wanted, label in (
                (self.require_uppercase, "an upper-case letter"),
                (self.require_lowercase, "a lower-case letter"),
                (self.require_numbers, "a digit"),
                (self.require_symbols, "a symbol"),
            )
            if wanted
        ]
        text = f"at least {self.minimum_length} characters"
        if needs:
            text += " with " + (", ".join(needs[:-1]) + " and " + needs[-1] if len(needs) > 1 else needs[0])
        return f"password must be {text}"

    def as_cognito(self) -> dict[str, int | bool]:
        """The same policy in the shape Cognito's CreateUserPool takes (the local platform's pool)."""
        return {
            "MinimumLength": self.minimum_length,
            "RequireUppercase": self.require_uppercase,
            "RequireLowercase": self.require_lowercase,
            "RequireNumbers": self.require_numbers,
            "RequireSymbols": self.require_symbols,
        }

    def violations(self, password: str) -> list[str]:
        found = []
        if len(password) < self.minimum_length:
            found.append(f"shorter than {self.minimum_length} characters")
        if self.require_uppercase and not any(c.isupper() for c in password):
            found.append("no upper-case letter")
        if self.require_lowercase and not any(c.islower() for c in password):
            found.append("no lower-case letter")
        if self.require_numbers and not any(c in "0123456789" for c in password):
            found.append("no digit")
        if self.require_symbols and all(c.isalnum() or c.isspace() for c in password):
            found.append("no symbol")
        if password != password.strip():
            # Cognito refuses leading or trailing whitespace; say so here rather than let it look like a 500.
            found.append("leading or trailing whitespace")
        return found


# The one declaration of the password policy: the local platform's pool (local/resources.py) and the CDK user pool
# (infra/shop_stack.py) are built from it. See the module docstring of functions.accounts for why Cognito stays the
# final judge all the same.
PASSWORD_POLICY = PasswordPolicy()


@dataclass(frozen=True)
class Caller:
    """The signed-in caller as the identity provider knows them. ``username`` is the key the user pool accepts
    in admin calls (the ``cognito:username`` claim); ``user_id`` is the stable ``sub``."""

    user_id: str
    username: str
    roles: frozenset[str]


@dataclass(frozen=True)
class SignedUp:
    user_id: str
    email: str


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str
    expires_in: int
    refresh_token: str | None = None  # only a password login issues one


class UserStatus(StrEnum):
    """Cognito's UserStatus. Only UNCONFIRMED and CONFIRMED are states a sign-up creates; every other one (created
    by an administrator, reset, external...) is never something a sign-up may take over."""

    UNCONFIRMED = "UNCONFIRMED"  # signed up, not confirmed: what a sign-up interrupted after SignUp leaves behind
    CONFIRMED = "CONFIRMED"
    FORCE_CHANGE_PASSWORD = "FORCE_CHANGE_PASSWORD"  # noqa: S105 - created by an administrator, temporary password
    RESET_REQUIRED = "RESET_REQUIRED"
    EXTERNAL_PROVIDER = "EXTERNAL_PROVIDER"
    ARCHIVED = "ARCHIVED"
    COMPROMISED = "COMPROMISED"
    UNKNOWN = "UNKNOWN"
    OTHER = "OTHER"  # a status this code does not know yet


@dataclass(frozen=True)
class UserRecord:
    """A user as the identity provider stores them."""

    username: str
    user_id: str
    email: str
    name: str | None
    phone: str | None
    status: UserStatus
    created_at: datetime
    enabled: bool = True


@dataclass(frozen=True)
class Profile:
    user_id: str
    email: str
    name: str | None
    phone: str | None
    roles: tuple[str, ...]
    created_at: datetime


# --- staff and roles (back office) ------------------------------------------------------------------------------

# A user id is the user's ``sub``, a UUID as Cognito writes it (lower-case). Anything else could never name a user,
# so it is refused before a call is spent on it.
USER_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_USER_ID_RE = re.compile(USER_ID_PATTERN)
# An email prefix to search by: only characters an address of this pool can hold (``check_email``), upper case
# allowed since it is lower-cased. That keeps quotes and backslashes, which would end or escape the value in a
# Cognito filter, and markup, spaces and control characters out of the filter without any escaping rules.
EMAIL_PREFIX_PATTERN = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.@-]+$"
_EMAIL_PREFIX_RE = re.compile(EMAIL_PREFIX_PATTERN)
# Staff roles an administrator grants and takes away; ``customer`` belongs to every signed-up user and is never
# granted or removed here.
GRANTABLE_ROLES = frozenset(STAFF_ROLES)
KNOWN_ROLES = frozenset(ALL_ROLES)


def check_user_id(raw: str) -> str:
    if not _USER_ID_RE.match(raw):
        raise ValueError("user_id must be a user id (a lower-case UUID)")
    return raw


def check_email_prefix(raw: str) -> str:
    prefix = normalise_email(raw)
    if not prefix:
        raise ValueError("email must not be empty")
    if len(prefix) > EMAIL_MAX:
        raise ValueError(f"email must be at most {EMAIL_MAX} characters")
    if not _EMAIL_PREFIX_RE.match(prefix):
        raise ValueError("email may hold only characters an email address can")
    return prefix


def check_roles(raw: list[str] | tuple[str, ...] | frozenset[str]) -> frozenset[str]:
    """The roles asked for, as a set. Unknown names are refused; ``customer`` may be listed (so a client can send
    back the ``roles`` it read) but means nothing: it is never granted or removed here."""
    unknown = sorted(set(raw) - KNOWN_ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(unknown)} (known: {', '.join(ALL_ROLES)})")
    return frozenset(raw) & GRANTABLE_ROLES


@dataclass(frozen=True)
class RoleChange:
    """What to do to a user's groups so that their staff roles are exactly the ones asked for."""

    add: tuple[str, ...]
    remove: tuple[str, ...]
    result: frozenset[str]  # the user's groups afterwards

    @property
    def changes_anything(self) -> bool:
        return bool(self.add or self.remove)


def role_change(current: frozenset[str], wanted_staff_roles: frozenset[str]) -> RoleChange:
    """Only staff roles move: ``customer`` and any group this platform does not define stay as they are."""
    wanted = wanted_staff_roles & GRANTABLE_ROLES
    held = current & GRANTABLE_ROLES
    add, remove = wanted - held, held - wanted
    return RoleChange(add=tuple(sorted(add)), remove=tuple(sorted(remove)), result=(current - remove) | add)


@dataclass(frozen=True)
class StaffView:
    """A user as the back office lists them: the record plus every group they are in."""

    user_id: str
    email: str
    name: str | None
    status: UserStatus
    enabled: bool
    roles: tuple[str, ...]  # sorted
    created_at: datetime

    @classmethod
    def of(cls, user: UserRecord, groups: frozenset[str]) -> StaffView:
        return cls(
            user_id=user.user_id,
            email=user.email,
            name=user.name,
            status=user.status,
            enabled=user.enabled,
            roles=tuple(sorted(groups)),
            created_at=user.created_at,
        )


@dataclass(frozen=True)
class UserPage:
    """One page of users from the provider, and its own token for the next page (``None``: the last page)."""

    users: tuple[UserRecord, ...]
    next_token: str | None


@dataclass(frozen=True)
class StaffPage:
    items: tuple[StaffView, ...]
    next_cursor: str | None
