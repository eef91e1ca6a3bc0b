"""A small client for the shop's partner API: it signs every request as the API wants (DESIGN.md §5).

Standard library only, so a partner can copy this one file. Use it as a library::

    from clients.shop_partner import PartnerClient

    shop = PartnerClient("https://api.example.com/prod", app_key="app_...", secret="sk_...")
    products = shop.get("/partner/v1/products", limit=50)
    for order in shop.orders_since("2026-12-01T00:00:00Z"):
        ...
    shop.post("/partner/v1/orders/ord_.../shipments", {...}, idempotency_key="ship-ord_...-1")

or from a shell::

    python -m clients.shop_partner --url http://127.0.0.1:3000 --app-key app_... --secret sk_... \\
        GET /partner/v1/products limit=5

The signature is the lowercase hex HMAC-SHA256, keyed with the app secret, of::

    METHOD \\n PATH \\n CANONICAL_QUERY \\n TIMESTAMP \\n NONCE \\n hex(SHA-256(body))

where PATH is the path without the stage prefix (``/partner/v1/...`` even when the base URL ends in ``/prod``) and
CANONICAL_QUERY the parameters sorted by name then value, each ``quote(name)=quote(value)`` (RFC 3986, ``~`` kept),
joined by ``&``. The body's SHA-256 also goes in ``X-Content-SHA256``: API Gateway's authorizer never sees the body,
so it verifies the signature over that header and the function behind checks the body against it.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

PARTNER_PREFIX = "/partner/"


def _quote(text: str) -> str:
    return quote(text, safe="-._~")


def canonical_query(params: list[tuple[str, str]]) -> str:
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(params))


def sign(secret: str, method: str, path: str, query: str, timestamp: str, nonce: str, body: bytes) -> str:
    text = "\n".join((method.upper(), path, query, timestamp, nonce, hashlib.sha256(body).hexdigest()))
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


class PartnerError(Exception):
    """The API answered with an error: ``status`` and the ``{"error": {...}}`` body's code and message."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str]) -> None:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        self.status = status
        self.code = str(error.get("code", "HTTP_ERROR"))
        self.message = str(error.get("message", body))
        self.body = body
        self.headers = dict(headers)
        super().__init__(f"{status} {self.code}: {self.message}")


class PartnerClient:
    def __init__(self, base_url: str, app_key: str, secret: str, timeout_s: float = 10.0, max_retries: int = 2) -> None:
        """``base_url``: the API's URL up to the stage (``https://<id>.execute-api.<region>.amazonaws.com/prod``,
        or ``http://127.0.0.1:3000`` locally). ``max_retries``: how often a 429 is retried after its Retry-After."""
        self.base_url = base_url.rstrip("/")
        self.app_key = app_key
        self.secret = secret
        self.timeout_s = timeout_s
        self.max_retries = max_retries

    def signed_headers(
        self, method: str, path: str, params: list[tuple[str, str]], body: bytes, now: float | None = None
    ) -> dict[str, str]:
        timestamp = str(int(time.time() if now is None else now))
        nonce = secrets.token_urlsafe(18)
        query = canonical_query(params)
        return {
            "X-App-Key": self.app_key,
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Content-SHA256": hashlib.sha256(body).hexdigest(),
            "X-Signature": sign(self.secret, method, path, query, timestamp, nonce, body),
        }

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | list[tuple[str, str]] | None = None,
        body: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        if not path.startswith(PARTNER_PREFIX):
            raise ValueError(f"partner paths start with {PARTNER_PREFIX}, not {path!r}")
        pairs = list(params.items()) if isinstance(params, Mapping) else list(params or [])
        pairs = [(str(k), str(v)) for k, v in pairs if v is not None]
        data = b"" if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        url = self.base_url + quote(path, safe="/-._~") + ("?" + canonical_query(pairs) if pairs else "")
        for attempt in range(self.max_retries + 1):
            headers = {"Accept": "application/json", **self.signed_headers(method, path, pairs, data)}
            if data:
                headers["Content-Type"] = "application/json"
            if idempotency_key:
                headers["Idempotency-Key"] = idempotency_key
            req = urllib.request.Request(url, data=data or None, method=method.upper(), headers=headers)  # noqa: S310
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as response:  # noqa: S310
                    raw = response.read()
                    return json.loads(raw) if raw else None
            except urllib.error.HTTPError as exc:
                raw = exc.read()
                try:
                    parsed: Any = json.loads(raw) if raw else None
                except ValueError:
                    parsed = raw.decode("utf-8", errors="replace")
                retry_after = exc.headers.get("Retry-After")
                # Retry a throttle (a second or so), never a spent day's quota.
                throttled = exc.code == 429 and retry_after is not None and retry_after.isdigit()
                if throttled and attempt < self.max_retries and int(str(retry_after)) <= 5:
                    time.sleep(int(str(retry_after)))
                    continue
                raise PartnerError(exc.code, parsed, dict(exc.headers.items())) from None
        raise AssertionError("unreachable")

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params)

    def post(self, path: str, body: Any, idempotency_key: str | None = None) -> Any:
        return self.request("POST", path, body=body, idempotency_key=idempotency_key)

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paged list, following ``next_cursor``."""
        cursor: str | None = None
        while True:
            page = self.get(path, **params, **({"cursor": cursor} if cursor else {}))
            yield from page.get("items", [])
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def orders_since(self, updated_since: str, limit: int = 100) -> Iterator[dict[str, Any]]:
        """Orders changed since ``updated_since`` (ISO-8601), in the feed's stable order."""
        return self.pages("/partner/v1/orders", updated_since=updated_since, limit=limit)


def _stage_path(base_url: str, path: str) -> str:
    """The path to sign is the part after the stage, decoded: the CLI accepts a full URL too (its query is taken by
    :func:`_url_params`)."""
    if path.startswith(("http://", "https://")):
        full = unquote(urlsplit(path).path)
        base = unquote(urlsplit(base_url).path).rstrip("/")
        # Only a whole leading segment is the stage: /prod is not the start of /production.
        return full[len(base) :] if base and full.startswith(base + "/") else full
    return path


def _url_params(path: str) -> list[tuple[str, str]]:
    """The query of a full URL given as the path, decoded (it is signed and sent like the name=value arguments)."""
    if path.startswith(("http://", "https://")):
        return parse_qsl(urlsplit(path).query, keep_blank_values=True)
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Call the shop's partner API with a signed request.")
    parser.add_argument("--url", default=os.environ.get("SHOP_API_URL", "http://127.0.0.1:3000"))
    parser.add_argument("--app-key", default=os.environ.get("SHOP_APP_KEY"))
    parser.add_argument("--secret", default=os.environ.get("SHOP_APP_SECRET"))
    parser.add_argument("--idempotency-key", help="for POSTs that need one")
    parser.add_argument("--data", help="JSON body (or @file)")
    parser.add_argument("method", choices=["GET", "POST"])
    parser.add_argument("path", help="/partner/v1/...")
    parser.add_argument("params", nargs="*", help="query parameters as name=value")
    args = parser.parse_args(argv)
    if not args.app_key or not args.secret:
        parser.error("give --app-key and --secret (or SHOP_APP_KEY and SHOP_APP_SECRET)")
    body = None
    if args.data:
        text = open(args.data[1:], encoding="utf-8").read() if args.data.startswith("@") else args.data  # noqa: SIM115
        body = json.loads(text)
    bad = [p for p in args.params if "=" not in p]
    if bad:
        parser.error(f"query parameters are name=value, not {bad[0]!r}")
    params = [(name, value) for name, _, value in (p.partition("=") for p in args.params)]
    client = PartnerClient(args.url, args.app_key, args.secret)
    try:
        result = client.request(
            args.method,
            _stage_path(args.url, args.path),
            params=_url_params(args.path) + params,
            body=body,
            idempotency_key=args.idempotency_key,
        )
    except PartnerError as exc:
        print(json.dumps(exc.body, ensure_ascii=False, indent=2), file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:  # nothing answered: no server, DNS, TLS, timeout
        print(f"cannot reach {args.url}: {getattr(exc, 'reason', exc)}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
