"""The accounts service: sign-up, login, token refresh, the caller's profile and the back office's staff and roles,
over an :class:`IdentityProvider`.

Every decision about what a caller is told lives here (which failures look alike, what is a conflict); the adapter
only translates the provider's errors into the port's exceptions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from functions.accounts.domain import (
    ADMIN_GROUP,
    CUSTOMER_GROUP,
    PASSWORD_POLICY,
    Caller,
    PasswordPolicy,
    Profile,
    SignedUp,
    StaffPage,
    StaffView,
    Tokens,
    UserRecord,
    UserStatus,
    check_email,
    check_email_prefix,
    check_name,
    check_phone,
    check_roles,
    check_user_id,
    could_be_username,
    normalise_email,
    role_change,
)
from functions.accounts.identity import (
    AttributeRejected,
    ChallengeRequired,
    IdentityProvider,
    NotAuthenticated,
    PageTokenRejected,
    PasswordRejected,
    UsernameTaken,
    UserNotFound,
)
from functions.shared import cursor
from functions.shared.auth import AuthContext
from functions.shared.errors import BadRequest, Conflict, NotFound, Unauthorized, Unprocessable
from functions.shared.logs import shop_logger

logger = shop_logger()

T = TypeVar("T")
V = TypeVar("V")

PAGE_MAX = 100

# One message for every way a login can fail, so a response never tells whether an account exists.
INVALID_CREDENTIALS = "email or password is incorrect"


def _invalid_credentials() -> Unauthorized:
    return Unauthorized(INVALID_CREDENTIALS, code="INVALID_CREDENTIALS")


def _checked(field: str, value: V, rule: Callable[[V], T]) -> T:
    try:
        return rule(value)
    except ValueError as exc:
        raise Unprocessable(str(exc), details=[{"field": field, "issue": str(exc)}]) from None


def _user_not_found() -> NotFound:
    return NotFound("no user with this id", code="USER_NOT_FOUND")


def caller_of(auth: AuthContext) -> Caller:
    """The identity-provider key of the signed-in caller. The ID token's ``cognito:username`` (``username`` in an
    access token) is what admin calls take; ``sub`` is accepted too for local users, so it is the fallback."""
    if auth.user_id is None:
        raise Unauthorized("sign in to call this route")
    username = auth.claims.get("cognito:username") or auth.claims.get("username") or auth.user_id
    return Caller(user_id=auth.user_id, username=str(username), roles=auth.roles)


class AccountsService:
    def __init__(self, idp: IdentityProvider, policy: PasswordPolicy = PASSWORD_POLICY) -> None:
        self._idp = idp
        self._policy = policy

    # --- sign-up ------------------------------------------------------------------------------------------------

    def sign_up(self, email: str, password: str, name: str | None = None) -> SignedUp:
        """Create, confirm and enrol a shopper. An email already taken is a 409, unless it is this same sign-up
        retried after an earlier attempt stopped half-way (see :meth:`_resume`)."""
        email = _checked("email", email, check_email)
        if name is not None:
            name = _checked("name", name, check_name)
        self._check_strength(password)
        try:
            user_id = self._idp.register(email, password, name)
        except UsernameTaken:
            return self._resume(email, password)
        except PasswordRejected as exc:
            # The pool is stricter than the policy we know of: still the client's to fix, not a server error.
            raise self._weak_password(str(exc)) from None
        except AttributeRejected as exc:
            raise Unprocessable(str(exc), details=[{"field": "body", "issue": str(exc)}]) from None
        self._idp.confirm(email)
        self._idp.add_to_group(email, CUSTOMER_GROUP)
        return SignedUp(user_id=user_id, email=email)

    def _resume(self, email: str, password: str) -> SignedUp:
        """Finish a sign-up that stopped after SignUp (confirm or group enrolment failed), when the caller proves
        it is the same sign-up by knowing the password; otherwise the email is simply taken.

        A user left UNCONFIRMED is confirmed *before* the password is checked, because Cognito only answers a
        password check with certainty for a confirmed user. That is safe whoever asks: the account keeps the
        password its creator chose, and confirming is what its creator asked for. The ``customer`` group, which
        grants rights, is added only after the password matched.
        """
        taken = Conflict("an account with this email already exists", code="EMAIL_TAKEN")
        try:
            user = self._idp.get_user(email)
            if user.status is UserStatus.UNCONFIRMED:
                self._idp.confirm(user.username)
            elif user.status is not UserStatus.CONFIRMED or CUSTOMER_GROUP in self._idp.groups_of(user.username):
                raise taken
        except UserNotFound:
            raise taken from None  # deleted between SignUp's refusal and now: nothing of ours to finish
        try:
            self._idp.authenticate(email, password)
        except ChallengeRequired:
            pass  # a challenge is only issued once the password has matched
        except NotAuthenticated:
            raise taken from None
        self._idp.add_to_group(user.username, CUSTOMER_GROUP)
        return SignedUp(user_id=user.user_id, email=user.email)

    def _check_strength(self, password: str) -> None:
        problems = self._policy.violations(password)
        if problems:
            raise self._weak_password(*problems)

    def _weak_password(self, *issues: str) -> Unprocessable:
        return Unprocessable(
            self._policy.describe(),
            code="WEAK_PASSWORD",
            details=[{"field": "password", "issue": issue} for issue in issues],
        )

    # --- tokens -------------------------------------------------------------------------------------------------

    def log_in(self, email: str, password: str) -> Tokens:
        # Not format-checked like a sign-up: an address that is not well-formed is simply not an account, and the
        # answer must be the same 401 as for any other unknown one. Only what Cognito would reject as a malformed
        # request (a 500 otherwise) is refused before the call, with that same 401.
        email = normalise_email(email)
        if not could_be_username(email):
            raise _invalid_credentials()
        try:
            return self._idp.authenticate(email, password)
        except NotAuthenticated:
            raise _invalid_credentials() from None
        except ChallengeRequired as exc:
            # Only reached with the right password, so naming the challenge reveals nothing to a guesser.
            raise Unauthorized(
                "this account must complete another sign-in step first",
                code="CHALLENGE_REQUIRED",
                details=[{"challenge": exc.challenge}],
            ) from None

    def refresh(self, refresh_token: str) -> Tokens:
        try:
            return self._idp.refresh(refresh_token)
        except NotAuthenticated:
            raise Unauthorized("refresh token is invalid, expired or revoked", code="INVALID_REFRESH_TOKEN") from None

    # --- profile ------------------------------------------------------------------------------------------------

    def profile(self, caller: Caller) -> Profile:
        try:
            user = self._idp.get_user(caller.username)
        except UserNotFound:
            raise NotFound("this account no longer exists", code="USER_NOT_FOUND") from None
        # Roles come from the caller's token, not a fresh group lookup: they are the roles every other route
        # authorises this caller with until the token is refreshed, so the profile never promises more or less.
        return Profile(
            user_id=user.user_id,
            email=user.email,
            name=user.name,
            phone=user.phone,
            roles=tuple(sorted(caller.roles)),
            created_at=user.created_at,
        )

    def update_profile(self, caller: Caller, name: str | None = None, phone: str | None = None) -> Profile:
        if name is None and phone is None:
            raise Unprocessable(
                "give at least one of name, phone", details=[{"field": "body", "issue": "no field to update"}]
            )
        if name is not None:
            name = _checked("name", name, check_name)
        if phone is not None:
            phone = _checked("phone", phone, check_phone)
        try:
            self._idp.update_attributes(caller.username, name=name, phone=phone)
        except UserNotFound:
            raise NotFound("this account no longer exists", code="USER_NOT_FOUND") from None
        except AttributeRejected as exc:
            raise Unprocessable(str(exc), details=[{"field": "body", "issue": str(exc)}]) from None
        return self.profile(caller)

    # --- back office: staff and roles -------------------------------------------------------------------------
    # Admin-only routes (the manifest says so). The rules an admin is held to are here, not in the handlers: an
    # admin never takes away their own admin role or disables themselves, so the pool always keeps the admin who
    # made a change, and nobody locks the back office out by accident.

    def list_users(self, email_prefix: str | None, limit: int = 20, page: str | None = None) -> StaffPage:
        """Users whose email starts with ``email_prefix`` (lower-cased, so the search is case-insensitive for
        every address signed up here), each with their groups; and the cursor of the next page, if any. The cursor
        is signed and bound to the prefix: it wraps the provider's own page token."""
        if email_prefix is not None:
            email_prefix = _checked("email", email_prefix, check_email_prefix)
        if not 1 <= limit <= PAGE_MAX:
            raise Unprocessable(
                f"limit must be 1 to {PAGE_MAX}", details=[{"field": "limit", "issue": f"1 to {PAGE_MAX}"}]
            )
        query = cursor.fingerprint(route="admin-users", email=email_prefix)
        start = cursor.decode(page, query)
        token = None if start is None else start.get("t")
        if start is not None and not isinstance(token, str):
            raise BadRequest("cursor is invalid or belongs to another query", code="INVALID_CURSOR")
        try:
            found = self._idp.list_users(email_prefix, limit, token)
        except PageTokenRejected:
            expired = "this cursor has expired: start again from the first page"
            raise BadRequest(expired, code="INVALID_CURSOR") from None
        items = []
        for user in found.users:
            try:
                items.append(StaffView.of(user, self._idp.groups_of(user.username)))
            except UserNotFound:
                continue  # deleted between the listing and now: it is no longer a user to show
        next_cursor = None if found.next_token is None else cursor.encode({"t": found.next_token}, query)
        return StaffPage(items=tuple(items), next_cursor=next_cursor)

    def set_roles(self, caller: Caller, user_id: str, roles: list[str] | tuple[str, ...]) -> StaffView:
        """Make the user's staff roles exactly ``roles``. ``customer`` may be listed and means nothing: it is never
        granted or removed here, nor is any group the platform does not define.

        Groups are what the next ID token carries (``cognito:groups``): a change takes effect when the user next
        signs in or refreshes. Tokens already issued keep their old groups until they expire (an hour), and every
        route authorises with the token, so a removed role still works until then.

        Removals go first: if a call fails half-way, the user is left with fewer rights, never more, and the same
        request repeated finishes the change.
        """
        user_id = _checked("user_id", user_id, check_user_id)
        wanted = _checked("roles", roles, check_roles)
        if user_id == caller.user_id and ADMIN_GROUP not in wanted:
            raise Conflict("you cannot remove your own admin role; ask another administrator", code="SELF_DEMOTION")
        user = self._staff_member(user_id)
        try:
            change = role_change(self._idp.groups_of(user.username), wanted)
            for group in change.remove:
                self._idp.remove_from_group(user.username, group)
            for group in change.add:
                self._idp.add_to_group(user.username, group)
        except UserNotFound:
            raise _user_not_found() from None
        if change.changes_anything:
            logger.info(
                "staff roles changed",
                extra={"user_id": user_id, "by": caller.user_id, "added": change.add, "removed": change.remove},
            )
        return StaffView.of(user, change.result)

    def disable_user(self, caller: Caller, user_id: str) -> StaffView:
        """Disable the user (no more sign-ins or refreshes) and sign them out everywhere (their refresh tokens are
        revoked). ID tokens already issued stay valid until they expire: API Gateway checks only their signature
        and expiry. Disabling a disabled user does both again and answers the same: a retry of a disable that
        stopped half-way finishes it."""
        user_id = _checked("user_id", user_id, check_user_id)
        if user_id == caller.user_id:
            raise Conflict("you cannot disable your own account", code="SELF_DISABLE")
        user = self._staff_member(user_id)
        try:
            self._idp.disable(user.username)
            # Signed out by the email, the name the user signs in with: Cognito takes it as well as the username,
            # and moto revokes only the refresh tokens filed under the name they were issued to.
            self._idp.revoke_sessions(user.email or user.username)
            groups = self._idp.groups_of(user.username)
        except UserNotFound:
            raise _user_not_found() from None
        if user.enabled:
            logger.info("user disabled", extra={"user_id": user_id, "by": caller.user_id})
        return StaffView.of(replace(user, enabled=False), groups)

    def _staff_member(self, user_id: str) -> UserRecord:
        """The user whose ``sub`` is ``user_id``. The provider takes the sub as a username; the record's own sub is
        compared all the same, so an id never reaches a user it does not name."""
        try:
            user = self._idp.get_user(user_id)
        except UserNotFound:
            raise _user_not_found() from None
        if user.user_id != user_id:
            raise _user_not_found()
        return user
