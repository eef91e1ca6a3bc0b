"""GET /admin/users: users by email prefix (``email``, case-insensitive; all users without it), each with their
groups, paged with ``limit`` (1..100) and a signed ``cursor`` that wraps Cognito's PaginationToken. Admin only.

Cognito calls: ListUsers (``email ^= "<prefix>"``, at most 60 users a call, so up to two calls fill a page of 100),
then AdminListGroupsForUser once per user on the page.
"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.accounts.bootstrap import service
from functions.accounts.domain import EMAIL_MAX, EMAIL_PREFIX_PATTERN
from functions.accounts.manifest import MANIFEST
from functions.accounts.models import AdminUserPage
from functions.shared.cursor import MAX_CURSOR_LENGTH
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/admin/users", summary="Users and their roles (back office)")
def admin_list_users(
    email: Annotated[
        str | None,
        Query(
            max_length=EMAIL_MAX,
            pattern=EMAIL_PREFIX_PATTERN,
            description="Start of the email address, any case",
            examples=["ann@"],
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> AdminUserPage:
    return AdminUserPage.of(service().list_users(email, limit, cursor))


handler = entrypoint(app)
