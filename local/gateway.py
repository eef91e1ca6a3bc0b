"""The local API Gateway: an HTTP server on loopback that does what the REST API does in AWS before and after a
Lambda proxy integration.

Before: route matching (literal segments beat ``{param}``), the 10 MB payload limit, CORS preflight answers, and for
protected routes the Cognito user-pool authorizer (:mod:`local.auth`); a request it rejects never reaches a
function. Then it builds the proxy event (:func:`local.apigw.build_event`), with the verified claims for protected
routes only (a public route gets no authorizer context even when a token is sent, as in AWS), and invokes the
route's handler in a worker. After: it checks the proxy response and writes it out, merging ``headers`` and
``multiValueHeaders`` as API Gateway does; a handler that raised, timed out or answered something that is not a
proxy response is a 502.

Gateway-made errors use the platform's error shape (``{"error": {"code", "message", "details"}}``). Role checks
(403) are the handlers' business: they read the same manifest.

It also serves ``GET /health``, ``GET /openapi.json`` (:mod:`local.openapi`) and ``GET /docs`` (Swagger UI from
``node_modules/swagger-ui-dist``: nothing is fetched from a CDN). One log line per request.
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from functions.shared.wiring import Authorizer, Function, Route
from local.apigw import (
    authorizer_context,
    build_authorizer_event,
    build_event,
    compile_routes,
    match,
    method_arn,
    policy_allows,
)
from local.auth import CognitoVerifier, InvalidToken
from local.openapi import DOCS_ASSETS, DOCS_PAGE
from local.throttle import UsagePlans
from local.workers import Invocation

log = logging.getLogger("local.gateway")

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024  # read and drop up to this much of a refused body, so the client sees our 413
DOCS_DIR = Path(__file__).resolve().parent.parent / "node_modules" / "swagger-ui-dist"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# The CORS answer of the handlers (functions.shared.http.CORS), repeated here so that the gateway does not import the
# Lambda HTTP layer; tests/integration/test_local_gateway.py checks that the two agree.
CORS_ALLOW_HEADERS = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Api-Key",
    "X-Cart-Token",
)
CORS_EXPOSE_HEADERS = ("Retry-After",)
CORS_MAX_AGE_S = 600

InvokeRoute = Callable[[Function, dict[str, Any]], Invocation]
OpenApiProvider = Callable[[], dict[str, Any]]


def error_json(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "details": []}}, ensure_ascii=False).encode()


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str | None = "application/json"


class BodyTooLarge(Exception):
    pass


class BadBody(Exception):
    pass


def proxy_reply(payload: Any) -> Reply | None:
    """Turn a Lambda proxy response into an HTTP reply; ``None`` if it is not a valid proxy response."""
    if not isinstance(payload, dict):
        return None
    status = payload.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return None
    body = payload.get("body")
    if body is None:
        raw = b""
    elif isinstance(body, str):
        try:
            raw = base64.b64decode(body, validate=True) if payload.get("isBase64Encoded") else body.encode()
        except ValueError:
            return None
    else:
        return None
    headers: list[tuple[str, str]] = []
    multi = payload.get("multiValueHeaders") or {}
    single = payload.get("headers") or {}
    if not isinstance(multi, dict) or not isinstance(single, dict):
        return None
    for name, values in multi.items():
        if not isinstance(values, list):
            return None
        headers.extend((str(name), str(v)) for v in values)
    in_multi = {name.lower() for name in multi}
    headers.extend((str(n), str(v)) for n, v in single.items() if n.lower() not in in_multi)
    return Reply(status, raw, tuple(headers), content_type=None)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: fifty clients connecting at once (a flash sale) saw connection resets.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        self.gateway = gateway
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the seeding and the tests make many requests
    server_version = "local-apigateway"
    server: _Server

    def _handle(self) -> None:
        self.server.gateway.handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:
        return  # the gateway logs one line of its own per request


class Gateway:
    def __init__(self, routes: Sequence[Route], port: int = 3000, host: str = "127.0.0.1") -> None:
        self.routes = tuple(routes)
        self._compiled = compile_routes(self.routes)
        # Binding here, before the slow parts of start-up, makes a port conflict fail at once.
        self._server = _Server((host, port), self)
        self._thread: threading.Thread | None = None
        self._invoke: InvokeRoute | None = None
        self._verifier: CognitoVerifier | None = None
        self._openapi: OpenApiProvider | None = None
        self._authorizer: Authorizer | None = None
        self._usage: UsagePlans | None = None
        self.ready = False

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve: ``/health`` answers 503 and routes 503 until :meth:`attach`, ``/health`` 200 once ``ready``."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="gateway", daemon=True
        )
        self._thread.start()

    def attach(
        self,
        invoke: InvokeRoute,
        verifier: CognitoVerifier,
        openapi: OpenApiProvider,
        authorizer: Authorizer | None = None,
        usage_plans: UsagePlans | None = None,
    ) -> None:
        """``authorizer`` checks the partner routes' signed requests, ``usage_plans`` meters them per app."""
        self._verifier = verifier
        self._openapi = openapi
        self._authorizer = authorizer
        self._usage = usage_plans
        self._invoke = invoke

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    # --- one request ---------------------------------------------------------------------------------------------

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        started = time.monotonic()
        method = request.command.upper()
        status = 0
        request_id = str(uuid.uuid4())
        try:
            reply = self._dispatch(request, method, request_id)
            status = reply.status
            if not any(name.lower() == "x-amzn-requestid" for name, _ in reply.headers):
                reply.headers = (*reply.headers, ("x-amzn-RequestId", request_id))
            self._write(request, reply, method)
        except (BrokenPipeError, ConnectionResetError):
            request.close_connection = True
            status = status or 499  # the client went away
        except Exception:
            log.exception("gateway failure on %s %s", method, request.path)
            status = 500
            try:
                self._write(request, Reply(500, error_json("INTERNAL", "internal error in the local gateway")), method)
            except OSError:
                request.close_connection = True
        finally:
            elapsed = (time.monotonic() - started) * 1000
            log.info("%s %s %d %.0fms", method, request.path, status, elapsed)

    def _write(self, request: BaseHTTPRequestHandler, reply: Reply, method: str) -> None:
        request.send_response(reply.status)
        names = set()
        for name, value in reply.headers:
            request.send_header(name, value)
            names.add(name.lower())
        if reply.content_type and "content-type" not in names:
            request.send_header("Content-Type", reply.content_type)
        request.send_header("Content-Length", str(len(reply.body)))
        if request.close_connection:
            request.send_header("Connection", "close")
        request.end_headers()
        if method != "HEAD" and reply.body:
            request.wfile.write(reply.body)

    def _dispatch(self, request: BaseHTTPRequestHandler, method: str, request_id: str) -> Reply:
        # http.server decodes the request line as Latin-1; clients such as curl send non-ASCII URLs as raw UTF-8
        # (q=耳机 unencoded), which API Gateway accepts. Percent-encoded URLs are ASCII and pass through unchanged.
        target = request.path.encode("iso-8859-1").decode("utf-8", errors="replace")
        raw_path, _, raw_query = target.partition("?")
        path = unquote(urlsplit(raw_path).path) or "/"
        origin = request.headers.get("Origin")
        cors = self._cors_headers(origin)
        own = self._own_endpoint(method, path)
        if own is not None:
            if request.headers.get("Content-Length", "0") != "0" or request.headers.get("Transfer-Encoding"):
                request.close_connection = True  # an unread body would be taken for the next request
            return own
        # The body is read (or refused) before anything else, so that every answer leaves the connection clean.
        try:
            body = self._read_body(request)
        except BodyTooLarge:
            limit_mb = MAX_BODY_BYTES // (1024 * 1024)
            return Reply(413, error_json("PAYLOAD_TOO_LARGE", f"request body exceeds {limit_mb} MB"), cors)
        except BadBody as exc:
            request.close_connection = True
            return Reply(400, error_json("MALFORMED_REQUEST", str(exc)), cors)
        if self._invoke is None or self._verifier is None:
            return Reply(503, error_json("STARTING", "the local platform is still starting"), cors)
        route, params, known = match(self._compiled, method, path)
        if route is None:
            methods = sorted({c.route.method.upper() for c in self._compiled if c.pattern.match(path)})
            if known and method == "OPTIONS":
                allow = (("Access-Control-Allow-Methods", ",".join([*methods, "OPTIONS"])),)
                return Reply(204, b"", (*cors, *allow) if origin else allow, content_type=None)
            # A known path with another method is a 404 too: API Gateway answers both through its
            # MISSING_AUTHENTICATION_TOKEN response, which the CDK app maps to 404 NOT_FOUND (infra/api.py).
            return Reply(404, error_json("NOT_FOUND", f"no route for {method} {path}"), cors)
        claims = None
        if route.is_partner:
            event = self._event(request, route, path, params, raw_query, body, None, request_id)
            refused = self._authorize_partner(route, event, cors)
            if isinstance(refused, Reply):
                return refused
            event["requestContext"]["authorizer"] = refused
            return self._call(route, event, cors)
        if route.auth is not None:
            try:
                claims = self._verifier.verify(request.headers.get("Authorization"))
            except InvalidToken as exc:
                return Reply(401, error_json("UNAUTHORIZED", str(exc)), (("WWW-Authenticate", "Bearer"), *cors))
        event = self._event(request, route, path, params, raw_query, body, claims, request_id)
        return self._call(route, event, cors)

    def _call(self, route: Route, event: dict[str, Any], cors: tuple[tuple[str, str], ...]) -> Reply:
        assert self._invoke is not None
        invocation = self._invoke(route, event)
        reply = proxy_reply(invocation.payload) if invocation.ok else None
        if reply is None:
            if invocation.ok:
                log.error("%s returned something that is not a proxy response: %.500r", route.name, invocation.payload)
            else:
                log.error("%s failed:\n%s", route.name, invocation.error_text())
            message = "the function failed; the platform log has the details"
            return Reply(502, error_json("BAD_GATEWAY", message), cors)
        return Reply(reply.status, reply.body, reply.headers, content_type=None)

    def _authorize_partner(
        self, route: Route, event: dict[str, Any], cors: tuple[tuple[str, str], ...]
    ) -> Reply | dict[str, str]:
        """What API Gateway does for a method with a Lambda REQUEST authorizer and a required API key: 401 without
        calling the authorizer if an identity header is missing; the authorizer's verdict (failure ``Unauthorized``
        → 401, a policy not allowing this method → 403); then the app's usage plan (429 with Retry-After)."""
        assert self._invoke is not None
        if self._authorizer is None:
            return Reply(500, error_json("INTERNAL_ERROR", "internal error"), cors)
        unauthorized = Reply(401, error_json("UNAUTHORIZED", "authentication required"), cors)
        headers = {k.lower() for k in (event.get("headers") or {})}
        if any(h.lower() not in headers for h in self._authorizer.identity_headers):
            return unauthorized
        invocation = self._invoke(self._authorizer, build_authorizer_event(event, route))
        if not invocation.ok:
            if invocation.error and invocation.error.get("errorMessage") == "Unauthorized":
                return unauthorized
            log.error("the partner authorizer failed:\n%s", invocation.error_text())
            return Reply(500, error_json("INTERNAL_ERROR", "internal error"), cors)
        answer = invocation.payload
        if not isinstance(answer, dict) or not policy_allows(answer, method_arn(route, event["path"])):
            return Reply(403, error_json("FORBIDDEN", "not allowed"), cors)
        usage_key = answer.get("usageIdentifierKey")
        if self._usage is not None:
            if not usage_key:
                return Reply(403, error_json("FORBIDDEN", "not allowed"), cors)
            verdict = self._usage.take(str(usage_key))
            if not verdict.allowed:
                extra = (("Retry-After", str(verdict.retry_after_s)),) if verdict.retry_after_s else ()
                return Reply(verdict.status, error_json(verdict.code, verdict.message), (*extra, *cors))
        return authorizer_context(answer)

    def _event(
        self,
        request: BaseHTTPRequestHandler,
        route: Route,
        path: str,
        params: dict[str, str],
        raw_query: str,
        body: bytes,
        claims: dict[str, Any] | None,
        request_id: str,
    ) -> dict[str, Any]:
        headers = dict(request.headers.items())
        client_ip = str(request.client_address[0])
        headers.setdefault("X-Forwarded-For", client_ip)
        headers.setdefault("X-Forwarded-Port", str(self.port))
        headers.setdefault("X-Forwarded-Proto", "http")
        query = parse_qsl(raw_query, keep_blank_values=True)
        event = build_event(
            route, path, params, query, headers, body, claims, source_ip=client_ip, request_id=request_id
        )
        multi: dict[str, list[str]] = {}
        for name, value in headers.items():
            values = request.headers.get_all(name) or [value]
            multi[name] = [str(v) for v in values]
        event["multiValueHeaders"] = multi
        return event

    def _read_body(self, request: BaseHTTPRequestHandler) -> bytes:
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(request)
        raw_length = request.headers.get("Content-Length")
        if not raw_length:
            return b""
        try:
            length = int(raw_length)
        except ValueError as exc:
            raise BadBody("invalid Content-Length") from exc
        if length < 0:
            raise BadBody("invalid Content-Length")
        if length > MAX_BODY_BYTES:
            if length <= DRAIN_LIMIT_BYTES:
                remaining = length
                while remaining > 0:
                    chunk = request.rfile.read(min(remaining, 1024 * 1024))
                    if not chunk:
                        break
                    remaining -= len(chunk)
            else:
                request.close_connection = True
            raise BodyTooLarge
        return request.rfile.read(length)

    def _read_chunked(self, request: BaseHTTPRequestHandler) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = request.rfile.readline(1024).strip()
            try:
                size = int(line.split(b";", 1)[0], 16)
            except ValueError as exc:
                raise BadBody("invalid chunked encoding") from exc
            if size == 0:
                while request.rfile.readline(1024).strip():
                    pass  # trailers
                if total > MAX_BODY_BYTES:
                    raise BodyTooLarge
                return b"".join(parts)
            total += size
            if total > DRAIN_LIMIT_BYTES:
                request.close_connection = True  # stop reading mid-stream: the client may not see our answer
                raise BodyTooLarge
            chunk = request.rfile.read(size)
            if total <= MAX_BODY_BYTES:
                parts.append(chunk)
            request.rfile.readline(1024)

    @staticmethod
    def _cors_headers(origin: str | None) -> tuple[tuple[str, str], ...]:
        if not origin:
            return ()
        return (
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Allow-Headers", ",".join(sorted(CORS_ALLOW_HEADERS))),
            ("Access-Control-Expose-Headers", ",".join(CORS_EXPOSE_HEADERS)),
            ("Access-Control-Max-Age", str(CORS_MAX_AGE_S)),
        )

    # --- the gateway's own endpoints -------------------------------------------------------------------------------

    def _own_endpoint(self, method: str, path: str) -> Reply | None:
        if path == "/health":
            endpoint: Callable[[], Reply] = self._health
        elif path == "/openapi.json":
            endpoint = self._openapi_document
        elif path in ("/docs", "/docs/"):
            endpoint = self._docs_page
        elif path.startswith("/docs/"):
            asset = path[len("/docs/") :]
            endpoint = lambda: self._docs_asset(asset)  # noqa: E731
        else:
            return None
        if method not in ("GET", "HEAD"):
            return Reply(
                405, error_json("METHOD_NOT_ALLOWED", f"{method} is not allowed on {path}"), (("Allow", "GET"),)
            )
        return endpoint()

    def _health(self) -> Reply:
        if self.ready:
            return Reply(200, b'{"status":"ok"}')
        return Reply(503, b'{"status":"starting"}')

    def _openapi_document(self) -> Reply:
        if self._openapi is None:
            return Reply(503, error_json("STARTING", "the local platform is still starting"))
        return Reply(200, json.dumps(self._openapi(), ensure_ascii=False).encode())

    def _docs_page(self) -> Reply:
        if not (DOCS_DIR / "swagger-ui-bundle.js").is_file():
            message = "swagger-ui-dist is not installed: run `npm ci` (make setup) in the repository"
            return Reply(503, error_json("DOCS_UNAVAILABLE", message))
        return Reply(200, DOCS_PAGE.encode(), content_type="text/html; charset=utf-8")

    def _docs_asset(self, name: str) -> Reply:
        # Only the files the page uses, by exact name: nothing else under node_modules is reachable.
        target = DOCS_DIR / name
        if name not in DOCS_ASSETS or not target.is_file():
            return Reply(404, error_json("NOT_FOUND", f"no such file /docs/{name}"))
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith("javascript"):
            content_type += "; charset=utf-8"
        return Reply(200, target.read_bytes(), (("Cache-Control", "max-age=3600"),), content_type=content_type)
