"""The platform's one OpenAPI document, merged from every route's handler, and the page that shows it.

Each route is its own function with its own Powertools resolver, and each resolver describes only its own route
(from the type hints of the handler). :func:`route_fragments` runs inside a worker, where handler modules are
imported with the functions' environment, and returns each route's operation and component schemas;
:func:`merge` joins them in the gateway: the manifest decides which operations exist (a route whose module cannot
be imported still appears, marked, so the document never silently loses a route), and adds what only the manifest
knows: who may call it. Component schemas that two modules define differently under one name are renamed per
route, so one module's ``Item`` cannot replace another's.
"""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from functions.shared.wiring import Route

TITLE = "Serverless Shop API"
SECURITY_SCHEME = "CognitoIdToken"
PARTNER_SCHEME = "PartnerSignature"
ERROR_SCHEMA = "Error"
_REF_PREFIX = "#/components/schemas/"

_ERROR_COMPONENT: dict[str, Any] = {
    "type": "object",
    "title": ERROR_SCHEMA,
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "examples": ["UNAUTHORIZED"]},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {}},
            },
        }
    },
}


# --- inside a worker -------------------------------------------------------------------------------------------


def route_fragments(routes: Sequence[Route]) -> list[dict[str, Any]]:
    """For each route, its resolver's OpenAPI operation and schemas, or ``{"error": ...}``."""
    out: list[dict[str, Any]] = []
    for route in routes:
        try:
            module = importlib.import_module(route.module)
            app = getattr(module, "app", None)
            if app is None or not hasattr(app, "get_openapi_json_schema"):
                out.append({"error": f"{route.module} has no Powertools resolver named 'app'"})
                continue
            schema = json.loads(app.get_openapi_json_schema())
        except Exception as exc:
            out.append({"error": f"{type(exc).__name__}: {exc}"})
            continue
        operation = (schema.get("paths") or {}).get(route.path, {}).get(route.method.lower())
        if operation is None:
            out.append({"error": f"{route.module}'s resolver does not serve {route.method.upper()} {route.path}"})
            continue
        out.append({"operation": operation, "schemas": (schema.get("components") or {}).get("schemas") or {}})
    return out


# --- in the gateway ----------------------------------------------------------------------------------------------


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF_PREFIX):
                name = value[len(_REF_PREFIX) :]
                out[key] = _REF_PREFIX + renames.get(name, name)
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, renames) for v in node]
    return node


def _conflicting(known: dict[str, Any], incoming: dict[str, Any], suffix: str) -> dict[str, str]:
    """Names in ``incoming`` that clash with a different schema in ``known``, and their new names. A schema that
    only refers to a renamed one changes too, so repeat until nothing more has to be renamed."""
    renames: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for name, schema in incoming.items():
            if name in renames or name not in known:
                continue
            if known[name] != _rewrite_refs(schema, renames):
                renames[name] = f"{name}__{suffix}"
                changed = True
    return renames


def _skeleton(route: Route, problem: str) -> dict[str, Any]:
    return {
        "summary": route.summary or route.name,
        "description": f"The handler's own description is unavailable: {problem}",
        "responses": {"default": {"description": "See the handler"}},
        "x-handler-error": problem,
    }


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF_PREFIX + ERROR_SCHEMA}}},
    }


def merge(routes: Sequence[Route], fragments: Iterable[dict[str, Any]], version: str = "0.1.0") -> dict[str, Any]:
    """One OpenAPI document for ``routes``; ``fragments`` are :func:`route_fragments`' results, in the same order."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {ERROR_SCHEMA: _ERROR_COMPONENT}
    for route, fragment in zip(routes, fragments, strict=True):
        if "error" in fragment:
            operation = _skeleton(route, str(fragment["error"]))
        else:
            renames = _conflicting(schemas, fragment["schemas"], route.name)
            for name, schema in fragment["schemas"].items():
                schemas[renames.get(name, name)] = _rewrite_refs(schema, renames)
            operation = _rewrite_refs(copy.deepcopy(fragment["operation"]), renames)
        operation["operationId"] = route.name
        # Powertools' default summary is "METHOD /path"; the manifest's words say more.
        if route.summary and operation.get("summary") in (None, f"{route.method.upper()} {route.path}"):
            operation["summary"] = route.summary
        operation.setdefault("summary", route.name)
        # Group operations by bounded context (functions.<context>.handlers...).
        parts = route.module.split(".")
        if len(parts) > 2 and parts[0] == "functions":
            operation["tags"] = [parts[1]]
        if route.is_partner:
            operation["security"] = [{PARTNER_SCHEME: []}]
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", _error_response("Not a valid signed request (docs/partners.md)"))
            responses.setdefault("403", _error_response(f"The app lacks the scope {route.scope}"))
            responses.setdefault("429", _error_response("Over the app's rate limit or daily quota; see Retry-After"))
            operation["x-scope"] = route.scope
        elif route.auth is not None:
            operation["security"] = [{SECURITY_SCHEME: []}]
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", _error_response("Not signed in, or the token is invalid or expired"))
            allowed = sorted(route.auth)
            if allowed:
                responses.setdefault("403", _error_response(f"Needs one of the roles: {', '.join(allowed)}"))
            operation["x-roles"] = allowed
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": version,
            "description": "Storefront and back-office API of the serverless shop, as served by the local platform.",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The id_token returned by POST /auth/login",
                },
                PARTNER_SCHEME: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-App-Key",
                    "description": "With X-Timestamp, X-Nonce, X-Content-SHA256 and X-Signature (HMAC-SHA256 of "
                    "METHOD, PATH, CANONICAL_QUERY, TIMESTAMP, NONCE and the body's SHA-256; DESIGN.md §5). The "
                    "client in clients/shop_partner.py signs for you.",
                },
            },
        },
    }


DOCS_ASSETS = frozenset(
    {
        "swagger-ui.css",
        "index.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-16x16.png",
        "favicon-32x32.png",
        "oauth2-redirect.html",
    }
)

DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Serverless Shop API (local)</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="stylesheet" href="/docs/index.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script>
    window.onload = function () {
      window.ui = SwaggerUIBundle({
        url: "/openapi.json",
        dom_id: "#swagger-ui",
        deepLinking: true,
        persistAuthorization: true,
        presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
        plugins: [SwaggerUIBundle.plugins.DownloadUrl],
        layout: "StandaloneLayout"
      });
    };
  </script>
</body>
</html>
"""
