"""The accounts service: sign-up, login, token refresh and the caller's profile, over an :class:`IdentityProvider`.

Every decision about what a caller is told lives here (which failures look alike, what is a conflict); the adapter
only translates the provider's errors into the port's exceptions.
"""

from __future__ import annotations

from collections.abc import Callable

from functions.accounts.domain import (
    CUSTOMER_GROUP,
    PASSWORD_POLICY,
    Caller,
    PasswordPolicy,
    Profile,
    SignedUp,
    Tokens,
    UserStatus,
    check_email,
    check_name,
    check_phone,
    could_be_username,
    normalise_email,
)
from functions.accounts.identity import (
    AttributeRejected,
    ChallengeRequired,
    IdentityProvider,
    NotAuthenticated,
    PasswordRejected,
    UsernameTaken,
    UserNotFound,
)
from functions.shared.auth import AuthContext
from functions.shared.errors import Conflict, NotFound, Unauthorized, Unprocessable

# One message for every way a login can fail, so a response never tells whether an account exists.
INVALID_CREDENTIALS = "email or password is incorrect"


def _invalid_credentials() -> Unauthorized:
    return Unauthorized(INVALID_CREDENTIALS, code="INVALID_CREDENTIALS")


def _checked(field: str, value: str, rule: Callable[[str], str]) -> str:
    try:
        return rule(value)
    except ValueError as exc:
        raise Unprocessable(str(exc), details=[{"field": field, "issue": str(exc)}]) from None


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
