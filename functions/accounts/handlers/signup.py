"""POST /auth/signup: create a shopper account from an email and a password, usable at once.

Cognito SignUp through the app client, then AdminConfirmSignUp and AdminAddUserToGroup ``customer``: the server
confirms the account without email verification, so a shopper can log in straight away. An email-verification step
(the pool mails a code, a confirmation route takes it) can replace the server-side confirmation per stage later.
A sign-up interrupted after SignUp is finished by retrying it with the same email and password; that retry also
reads the user and its groups (AdminGetUser, AdminListGroupsForUser) to tell it from a duplicate.
"""

from functions.accounts.bootstrap import service
from functions.accounts.manifest import MANIFEST
from functions.accounts.models import SignUpRequest, SignUpResponse
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/auth/signup", status_code=201)
def sign_up(body: SignUpRequest) -> SignUpResponse:
    return SignUpResponse.of(service().sign_up(body.email, body.password.get_secret_value(), body.name))


handler = entrypoint(app)
