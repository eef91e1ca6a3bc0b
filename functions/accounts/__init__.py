"""The accounts context: shopper sign-up, login, token refresh, the user centre (``GET|PUT /me``) and the back
office's staff and roles (``GET /admin/users``, ``PUT /admin/users/{user_id}/roles``,
``POST /admin/users/{user_id}/disable``; docs/accounts-staff.md).

**What it stores.** No table of its own: the system of record is the platform's shared Cognito user pool. A
user's pool username is a generated id (in practice its ``sub``, which is the ``user_id`` everywhere in the API);
the email is the pool's username attribute, stored trimmed and lower-cased; ``name`` and ``phone_number`` (E.164)
are standard attributes; roles are the user's groups (DESIGN.md §4).

**Access patterns.**

* sign-up: ``SignUp`` through the app client with the email as username, then ``AdminConfirmSignUp`` and
  ``AdminAddUserToGroup customer``. When the email is taken: ``AdminGetUser`` (by email) and
  ``AdminListGroupsForUser`` to tell a duplicate from an interrupted sign-up.
* login and refresh: ``InitiateAuth`` (``USER_PASSWORD_AUTH`` by email, ``REFRESH_TOKEN_AUTH``).
* profile: ``AdminGetUser`` and ``AdminUpdateUserAttributes`` keyed by the token's ``cognito:username`` claim (the
  pool username; ``sub`` as fallback, which Cognito accepts for local users). Roles shown are the token's groups.
* staff search: ``ListUsers`` with ``email ^= "<prefix>"`` (at most 60 a call), then ``AdminListGroupsForUser``
  per user listed. Set roles: ``AdminGetUser`` (by sub), ``AdminListGroupsForUser``, then
  ``AdminRemoveUserFromGroup`` / ``AdminAddUserToGroup`` per role changed. Disable: ``AdminGetUser``,
  ``AdminDisableUser``, ``AdminUserGlobalSignOut``, ``AdminListGroupsForUser``.

**Invariants.**

* One account per email, compared case-insensitively (every email is lower-cased before it reaches Cognito).
* Every account created here ends CONFIRMED and in ``customer``. A sign-up that stopped after ``SignUp`` is finished
  by retrying it with the same email and password; a retry with another password gets 409 and never gains the
  account (``service.AccountsService._resume``).
* A failed login looks the same whatever the reason: unknown, disabled or unconfirmed user, or wrong password.
* No password or token is logged or echoed back in an error.
* The password policy (``domain.PASSWORD_POLICY``) is the one both user pools are built from (``local/resources.py``
  and ``infra/shop_stack.py``), so a weak password is refused with the whole policy in the message;
  Cognito remains the final judge and its refusal is the same 422.
* Staff roles (groups beyond ``customer``) change only through the admin routes; ``customer`` is never granted or
  removed there. An admin never removes their own ``admin`` role nor disables themselves (409), so whoever makes a
  change stays an admin. Role changes reach a user with their next ID token.

**Layout.** ``domain`` (rules and records, no I/O) → ``identity`` (the port) → ``service`` (decisions) →
``cognito`` (the adapter) → ``bootstrap`` (the composition root) → ``models`` and ``handlers`` (HTTP).
"""
