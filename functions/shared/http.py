"""One resolver factory for every HTTP handler, and the error router they all include.

Each route is its own Lambda function (DESIGN.md §2) with its own module and its own resolver, built here so that
validation, OpenAPI, CORS, the error model and authorisation are identical everywhere:

* request bodies/parameters are validated from the type hints (Powertools' OpenAPI validation); a malformed JSON
  body is a 400, a well-formed but invalid one a 422, both in the DESIGN.md §4 error shape;
* a response that fails its own model is a server bug: 500, never blamed on the client;
* who may call the route comes from the context manifest (the same declaration the CDK app and the local gateway
  read): anonymous callers of a protected route get 401, callers without a permitted role 403;
* bodies larger than ``MAX_BODY_BYTES`` are refused with 413 and non-JSON bodies with 415, before anything is
  parsed;
* authorisation runs in the entrypoint, before Powertools' request validation (which always runs first inside
  ``resolve``), so a caller without the role gets 403, not a 422 describing the body the route expects;
* a back-office or partner call that changes something (``Route.audited``) is recorded in the audit log once its
  response is known, refused ones too (:mod:`functions.shared.audit`); no other route does any of that.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from functools import partial
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.json_encoder import Encoder
from botocore.exceptions import ClientError

from functions.shared import correlation
from functions.shared.auth import AuthContext, from_event
from functions.shared.errors import (
    AppError,
    Forbidden,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    error_body,
)
from functions.shared.headers import header_value
from functions.shared.logs import shop_logger
from functions.shared.wiring import ContextManifest, Route, role_allows

logger = shop_logger()

MAX_BODY_BYTES = 256 * 1024
_THROTTLING = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
}
CORS = CORSConfig(
    allow_origin="*",
    allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Cart-Token"],
    expose_headers=["Retry-After"],
    max_age=600,
)


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        headers=headers or {},
    )


# --- the shared error router --------------------------------------------------------------------------------------

errors = Router()


@errors.exception_handler(AppError)
def _app_error(exc: AppError) -> Response[Any]:
    return json_response(exc.status, exc.body(), exc.headers)


@errors.exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response[Any]:
    problems = exc.errors()
    details = [
        {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body", "issue": e.get("msg", "")}
        for e in problems
    ]
    if any(e.get("type") == "json_invalid" for e in problems):
        return json_response(400, error_body("MALFORMED_REQUEST", "request body is not valid JSON"))
    return json_response(422, error_body("VALIDATION_FAILED", "request is invalid", details))


@errors.exception_handler(NotFoundError)
def _no_route(exc: NotFoundError) -> Response[Any]:
    return json_response(404, error_body("NOT_FOUND", "no such route"))


@errors.exception_handler(ClientError)
def _aws_error(exc: ClientError) -> Response[Any]:
    code = exc.response.get("Error", {}).get("Code", "")
    if code in _THROTTLING:
        body = error_body("TEMPORARILY_UNAVAILABLE", "the service is busy, retry shortly")
        return json_response(503, body, {"Retry-After": "1"})
    logger.exception("AWS call failed", extra={"aws_error": code})
    return json_response(500, error_body("INTERNAL", "internal error"))


@errors.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response[Any]:
    logger.exception("unhandled error")
    return json_response(500, error_body("INTERNAL", "internal error"))


# --- authorisation from the manifest ------------------------------------------------------------------------------


class ShopResolver(APIGatewayRestResolver):
    """A REST resolver that knows its context's manifest, so the entrypoint can authorise before anything runs."""

    def __init__(self, manifest: ContextManifest) -> None:
        super().__init__(
            enable_validation=True,
            cors=CORS,
            response_validation_error_http_code=500,
            # UTF-8 JSON: a Chinese product name is three bytes a character, not a six-character escape.
            serializer=partial(json.dumps, separators=(",", ":"), ensure_ascii=False, cls=Encoder),
        )
        self.manifest = manifest
        self.routes_by_key = {r.key: r for r in manifest.routes}


def make_resolver(manifest: ContextManifest) -> ShopResolver:
    app = ShopResolver(manifest)
    app.include_router(errors)
    return app


def _refusal(exc: AppError) -> dict[str, Any]:
    return {
        "statusCode": exc.status,
        "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*", **exc.headers},
        "body": json.dumps(exc.body(), separators=(",", ":")),
        "isBase64Encoded": False,
    }


def _body_bytes(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4
    return len(body.encode("utf-8", errors="surrogatepass"))


def _check_media_type(event: dict[str, Any]) -> None:
    """Bodies are JSON. Anything else (a form post, text/plain) is a 415 before Powertools sees it: its form parser
    would otherwise turn the raw body into field names and echo it, password included, in a 422. Media types are
    case-insensitive (RFC 9110), Powertools' check is not, so the header is normalised here."""
    if not event.get("body"):
        return
    for group in ("headers", "multiValueHeaders"):
        headers = event.get(group) or {}
        for name in list(headers):
            if name.lower() != "content-type":
                continue
            value = headers[name]
            raw = value[0] if isinstance(value, list) and value else value
            media = str(raw or "").split(";")[0].strip().lower()
            if media and media != "application/json" and not media.endswith("+json"):
                raise UnsupportedMediaType(f"send the body as application/json, not {media}")
            headers[name] = [str(raw).lower()] if isinstance(value, list) else str(raw).lower()


def authorise(app: ShopResolver, event: dict[str, Any], any_media_type: bool = False) -> AuthContext:
    """Size limit, media type and the manifest's role rule, checked before the body is even parsed: a caller
    without the role learns nothing about what the route would accept (403 before 422)."""
    if _body_bytes(event) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body exceeds {MAX_BODY_BYTES} bytes")
    route: Route | None = app.routes_by_key.get(
        (str(event.get("httpMethod", "")).upper(), str(event.get("resource", "")))
    )
    if route is None:
        # Not declared in the manifest: refuse rather than guess who may call it.
        logger.error("route not in manifest", extra={"resource": event.get("resource")})
        raise Forbidden("route is not declared")
    auth = from_event(event)
    if route.is_partner:
        # The partner authorizer has checked the signature and the scope before this function was called; checked
        # again here so that nothing but a signed call with the scope ever runs a partner handler.
        if not auth.is_app:
            raise Unauthorized("sign the request with your app key (DESIGN.md §5)")
        if route.scope not in auth.scopes:
            raise Forbidden(f"your app does not have the {route.scope} scope")
        _check_signed_body(event)
        if not any_media_type:
            _check_media_type(event)
        return auth
    if auth.is_app:
        raise Forbidden("partner apps may call only /partner/ routes")
    if route.optional_identity and not auth.authenticated:
        auth = _optional_identity(event)
    if not role_allows(route.auth, auth.roles, auth.authenticated):
        if not auth.authenticated:
            raise Unauthorized("sign in to call this route")
        raise Forbidden("your role may not call this route")
    if not any_media_type:
        _check_media_type(event)
    return auth


def _header(event: dict[str, Any], name: str) -> str | None:
    return header_value(event.get("headers"), name)


def _optional_identity(event: dict[str, Any]) -> AuthContext:
    """A route that serves guests and shoppers: no Cognito authorizer in front of it, so a bearer token that comes
    along is verified here (functions.shared.jwt). No token: a guest. A bad token: 401, never a silent guest."""
    header = _header(event, "Authorization")
    if header is None or not header.strip():
        return from_event(event)
    scheme, _, rest = header.strip().partition(" ")
    token = rest.strip() if rest and scheme.lower() == "bearer" else header.strip()
    from functions.shared.jwt import user_pool_verifier

    claims = user_pool_verifier().verify(token)
    return from_event({"requestContext": {"authorizer": {"claims": claims}}})


EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
BODY_HASH_HEADER = "X-Content-SHA256"


def _check_signed_body(event: dict[str, Any]) -> None:
    """API Gateway does not pass the body to a REQUEST authorizer, so the authorizer verified the signature over the
    body hash the client declared in ``X-Content-SHA256`` (the empty body's hash when absent). The body that arrived
    must be the one declared, or the signature says nothing about it: 401 before the handler runs."""
    raw = event.get("body") or ""
    data = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8", errors="surrogatepass")
    declared = (_header(event, BODY_HASH_HEADER) or EMPTY_SHA256).strip().lower()
    if not hmac.compare_digest(hashlib.sha256(data).hexdigest(), declared):
        raise Unauthorized(f"the body does not match the signed {BODY_HASH_HEADER}")


def current_auth(app: ShopResolver) -> AuthContext:
    auth = app.context.get("auth")
    if not isinstance(auth, AuthContext):
        raise Unauthorized("sign in to call this route")
    return auth


def entrypoint(app: ShopResolver, any_media_type: bool = False) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda handler for a resolver: structured logs with the request id as correlation id, authorise, resolve.
    ``any_media_type`` lets a route read bodies that are not JSON (a provider's form-encoded callback): the route
    then reads the raw body itself and nothing parses it for it."""

    # log_event stays off whatever POWERTOOLS_LOGGER_LOG_EVENT says: request bodies hold passwords and personal data.
    @logger.inject_lambda_context(
        correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True, log_event=False
    )
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        # Events created while serving this request carry its id (functions.shared.correlation).
        correlation.use(str((event.get("requestContext") or {}).get("requestId") or "") or None)
        recorded = audited.get((str(event.get("httpMethod", "")).upper(), str(event.get("resource", ""))))
        try:
            auth = authorise(app, event, any_media_type)
        except AppError as exc:
            refusal = _refusal(exc)
            if recorded is not None:
                _record(recorded, event, from_event(event), refusal)
            return refusal
        app.append_context(auth=auth)
        response = app.resolve(event, context)
        if recorded is not None:
            _record(recorded, event, auth, response)
        return response

    # Back-office and partner writes are recorded in the audit log, refused calls too (functions.shared.audit);
    # any other route (a read, a shopper's or a storefront call) is not found here and runs as before.
    audited = {r.key: r for r in app.manifest.routes if r.audited}
    return handler


def _record(route: Route, event: dict[str, Any], auth: AuthContext, response: dict[str, Any]) -> None:
    from functions.shared.audit import record_call  # imported by the functions that record, and only by them

    record_call(route, event, auth, response)
