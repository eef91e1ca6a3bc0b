"""API Gateway REST (v1) proxy events, built the way AWS builds them, for the local gateway and the tests.

Route matching follows API Gateway: literal paths win over ``{param}`` templates; a known path with another method
is a "missing authentication token" in AWS (a 404 in our gateway responses), and so it is here. The event carries
``resource`` (the template), ``path``, the single- and multi-value query and headers, ``pathParameters``, the
request context with the stage and request id and, when a token was verified, ``requestContext.authorizer.claims``
as the Cognito user-pool authorizer sets them (every claim a string; the groups joined with commas).
"""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from functions.shared.wiring import Route

_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


@dataclass(frozen=True)
class CompiledRoute:
    route: Route
    pattern: re.Pattern[str]
    literal_segments: int


def compile_routes(routes: Iterable[Route]) -> list[CompiledRoute]:
    compiled = []
    for route in routes:
        parts = []
        for segment in route.path.strip("/").split("/"):
            param = _PARAM.fullmatch(segment)
            parts.append(f"(?P<{param.group(1)}>[^/]+)" if param else re.escape(segment))
        regex = "^/" + "/".join(parts) + "$"
        literal = sum(1 for seg in route.path.split("/") if seg and not seg.startswith("{"))
        compiled.append(CompiledRoute(route, re.compile(regex), literal))
    # API Gateway prefers the most specific (most literal segments) match.
    compiled.sort(key=lambda c: -c.literal_segments)
    return compiled


def match(compiled: Sequence[CompiledRoute], method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """Return (route, path parameters, path_known). ``path_known`` is true when some method serves this path."""
    known = False
    for c in compiled:
        m = c.pattern.match(path)
        if m:
            known = True
            if c.route.method.upper() == method.upper():
                return c.route, m.groupdict(), True
    return None, {}, known


def claims_for_authorizer(token_claims: dict[str, Any]) -> dict[str, str]:
    """Flatten verified token claims as API Gateway's Cognito authorizer does: every value a string."""
    out: dict[str, str] = {}
    for key, value in token_claims.items():
        if isinstance(value, list | tuple):
            out[key] = ",".join(str(v) for v in value)
        else:
            out[key] = str(value)
    return out


def build_event(
    route: Route,
    path: str,
    path_params: dict[str, str] | None = None,
    query: Sequence[tuple[str, str]] = (),
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    claims: dict[str, Any] | None = None,
    stage: str = "local",
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
    authorizer: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``claims``: a verified Cognito token's; ``authorizer``: what a Lambda authorizer answered (its principal and
    context, flattened to strings as API Gateway does) for a partner route."""
    headers = dict(headers or {})
    single_q: dict[str, str] = {}
    multi_q: dict[str, list[str]] = {}
    for name, value in query:
        single_q[name] = value  # API Gateway keeps the last value in the single-value map
        multi_q.setdefault(name, []).append(value)
    is_b64 = False
    text: str | None
    if body is None or body in (b"", ""):
        text = None
    elif isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, is_b64 = base64.b64encode(body).decode(), True
    else:
        text = body
    request_id = request_id or str(uuid.uuid4())
    now = time.time()
    context: dict[str, Any] = {
        "resourcePath": route.path,
        "httpMethod": route.method.upper(),
        "path": f"/{stage}{path}",
        "stage": stage,
        "requestId": request_id,
        "extendedRequestId": request_id,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "requestTimeEpoch": int(now * 1000),
        "protocol": "HTTP/1.1",
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": headers.get("Host", "127.0.0.1"),
        "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", "")},
    }
    if claims is not None:
        context["authorizer"] = {"claims": claims_for_authorizer(claims)}
    elif authorizer is not None:
        context["authorizer"] = {k: str(v) for k, v in authorizer.items()}
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": route.method.upper(),
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": single_q or None,
        "multiValueQueryStringParameters": multi_q or None,
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": context,
        "body": text,
        "isBase64Encoded": is_b64,
    }


class LambdaContext:
    """Enough of the Lambda context object for Powertools (request id, function name, remaining time)."""

    def __init__(self, function_name: str, memory_mb: int = 512, timeout_s: int = 10) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
