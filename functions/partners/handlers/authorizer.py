"""The partner authorizer: an API Gateway Lambda REQUEST authorizer in front of every ``/partner/`` route.

It answers as API Gateway's contract for Lambda authorizers says:

* the request is not a valid signed request (a header missing or malformed, the timestamp more than 300 s off, an
  unknown or revoked app, a bad signature, a nonce seen before): the function fails with the message
  ``Unauthorized``, which API Gateway turns into its 401 (a JSON error body, infra/api.py);
* the signature is good but the app lacks the route's scope: a Deny policy, API Gateway's 403;
* otherwise an Allow policy for exactly this method and path, the app as principal, its API key as the usage
  identifier (usage plans meter and throttle the app), and ``app_key``, ``app_name`` and ``scopes`` in the context
  the partner handler reads (functions.shared.auth.from_event).

Results are never cached (TTL 0): every request carries a fresh nonce, so a cache would only ever answer a replay,
the one request that must be refused. Why a request was refused is logged here and never told to the caller.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import APIGatewayAuthorizerRequestEvent

from functions.manifest import PLATFORM
from functions.partners.model import App
from functions.partners.service import service
from functions.partners.signing import SignatureRejected, parse, query_pairs
from functions.shared.logs import shop_logger

logger = shop_logger()

SCOPES = {r.key: r.scope for r in PLATFORM.routes if r.is_partner}
UNAUTHORIZED = "Unauthorized"  # the exact message API Gateway maps to 401


@logger.inject_lambda_context(clear_state=True, log_event=False)
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def handler(event: APIGatewayAuthorizerRequestEvent, context: Any) -> dict[str, Any]:
    raw = event.raw_event
    scope = SCOPES.get((str(raw.get("httpMethod", "")).upper(), str(raw.get("resource", ""))))
    try:
        signed = parse(
            str(raw.get("httpMethod", "")),
            str(raw.get("path", "")),
            raw.get("headers") or {},
            query_pairs(raw.get("multiValueQueryStringParameters"), raw.get("queryStringParameters")),
        )
        app = service().authenticate(signed)
    except SignatureRejected as exc:
        logger.info("partner request refused", extra={"reason": str(exc), "resource": raw.get("resource")})
        raise Exception(UNAUTHORIZED) from None
    if scope is None or scope not in app.scopes:
        logger.info("partner app lacks the scope", extra={"app_key": app.app_key, "scope": scope})
        return _policy("Deny", event.method_arn, app)
    return _policy("Allow", event.method_arn, app)


def _policy(effect: str, method_arn: str, app: App) -> dict[str, Any]:
    """The answer for exactly the called method ARN, as API Gateway gave it. Built here rather than with Powertools'
    ``APIGatewayAuthorizerResponse``, whose resource check refuses ARNs with characters such as ``%``, ``~`` or
    ``:`` in the path (a signed call to ``/partner/v1/inventory/a%20b`` would fail the authorizer: a 500 instead of
    the handler's 422)."""
    answer: dict[str, Any] = {
        "principalId": app.app_key,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": [method_arn]}],
        },
        "context": {"app_key": app.app_key, "app_name": app.name, "scopes": " ".join(app.scopes)},
    }
    if app.usage_key:
        answer["usageIdentifierKey"] = app.usage_key
    return answer
