"""POST /auth/login: exchange an email and password for Cognito ID, access and refresh tokens (USER_PASSWORD_AUTH).

Every refusal (wrong password, unknown, disabled or unconfirmed account) is the same 401, so the route cannot be
used to find out which emails have accounts.
"""

from functions.accounts.bootstrap import service
from functions.accounts.manifest import MANIFEST
from functions.accounts.models import LoginRequest, TokenResponse
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/auth/login")
def log_in(body: LoginRequest) -> TokenResponse:
    return TokenResponse.of(service().log_in(body.email, body.password.get_secret_value()))


handler = entrypoint(app)
