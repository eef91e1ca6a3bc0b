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


ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


def method_arn(route: Route, path: str, stage: str = "local", api_id: str = "local") -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/{stage}/{route.method.upper()}{path}"


def build_authorizer_event(proxy_event: dict[str, Any], route: Route, stage: str = "local") -> dict[str, Any]:
    """The event API Gateway sends a Lambda REQUEST authorizer: the proxy event's request parts, without the body
    (an authorizer never sees it), plus ``type`` and ``methodArn``."""
    return {
        "type": "REQUEST",
        "methodArn": method_arn(route, proxy_event["path"], stage),
        "resource": proxy_event["resource"],
        "path": proxy_event["path"],
        "httpMethod": proxy_event["httpMethod"],
        "headers": proxy_event.get("headers"),
        "multiValueHeaders": proxy_event.get("multiValueHeaders"),
        "queryStringParameters": proxy_event.get("queryStringParameters"),
        "multiValueQueryStringParameters": proxy_event.get("multiValueQueryStringParameters"),
        "pathParameters": proxy_event.get("pathParameters"),
        "stageVariables": proxy_event.get("stageVariables"),
        "requestContext": {k: v for k, v in proxy_event["requestContext"].items() if k != "authorizer"},
    }


def _arn_matches(pattern: str, arn: str) -> bool:
    regex = "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"
    regex = regex.replace(re.escape("?"), ".")
    return re.match(regex, arn) is not None


def policy_allows(response: Any, arn: str) -> bool:
    """Evaluate an authorizer's policy for ``arn`` as IAM does: an explicit Deny wins, else an Allow is needed."""
    if not isinstance(response, dict):
        return False
    statements = (response.get("policyDocument") or {}).get("Statement") or []
    allowed = False
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action") or []
        actions = [actions] if isinstance(actions, str) else actions
        # IAM matches action names case-insensitively (execute-api:invoke is execute-api:Invoke).
        if not any(str(a).lower() in ("execute-api:invoke", "execute-api:*", "*") for a in actions):
            continue
        resources = statement.get("Resource") or []
        resources = [resources] if isinstance(resources, str) else resources
        if not any(_arn_matches(str(r), arn) for r in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


def _context_value(value: Any) -> str:
    # API Gateway hands numbers and booleans on as their JSON text: true, not Python's True.
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def authorizer_context(response: dict[str, Any]) -> dict[str, str]:
    """What the function behind sees in ``requestContext.authorizer``: the principal and the context, every value a
    string (API Gateway flattens numbers and booleans)."""
    context = {str(k): _context_value(v) for k, v in (response.get("context") or {}).items()}
    return {"principalId": str(response.get("principalId", "")), **context}
