"""The stdlib partner client (clients/shop_partner.py) against the server's side of DESIGN.md §5: what it sends,
taken apart as the local gateway takes a request apart (path unquoted, query decoded), verifies with
functions.partners.signing and passes the body check of the HTTP layer; its CLI; its retry of a 429.

No network: ``urllib.request.urlopen`` is replaced by a recorder that answers from a script."""

from __future__ import annotations

import email.message
import hashlib
import hmac
import io
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from clients import shop_partner
from clients.shop_partner import PartnerClient, PartnerError, _stage_path
from functions.partners.signing import parse
from functions.shared.errors import Unauthorized
from functions.shared.http import _check_signed_body

APP_KEY = "app_01J0000000000000000000000A"
SECRET = "sk_test-secret-用于测试"


class _Response:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def read(self) -> bytes:
        return self.body

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class FakeNet:
    """Records every request; answers each with the next scripted (status, headers, body)."""

    def __init__(self, *answers: tuple[int, dict[str, str], Any]) -> None:
        self.answers = list(answers) or [(200, {}, {"ok": True})]
        self.requests: list[urllib.request.Request] = []

    def __call__(self, request: urllib.request.Request, timeout: float = 0) -> _Response:
        self.requests.append(request)
        status, headers, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        raw = json.dumps(body).encode()
        if status < 400:
            return _Response(raw)
        message = email.message.Message()
        for name, value in headers.items():
            message[name] = value
        raise urllib.error.HTTPError(request.full_url, status, "error", message, io.BytesIO(raw))


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNet]:
    fake = FakeNet()
    monkeypatch.setattr(urllib.request, "urlopen", fake)
    yield fake


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


def as_received(request: urllib.request.Request, stage: str = "") -> tuple[str, list[tuple[str, str]], dict[str, str]]:
    """(path without the stage, decoded query pairs, headers) as API Gateway hands them to the authorizer."""
    url = urlsplit(request.full_url)
    path = unquote(url.path)
    assert path.startswith(stage + "/partner/"), path
    headers = {name: str(value) for name, value in request.header_items()}
    return path[len(stage) :], parse_qsl(url.query, keep_blank_values=True), headers


def server_accepts(request: urllib.request.Request, stage: str = "") -> bool:
    path, query, headers = as_received(request, stage)
    return parse(request.get_method(), path, headers, query).matches(SECRET)


def test_a_get_with_a_tricky_query_is_signed_as_the_server_verifies_it(net: FakeNet) -> None:
    client = PartnerClient("http://127.0.0.1:3000", APP_KEY, SECRET)
    params = [("b", "2"), ("a", "z"), ("a", "y"), ("名", "值 ~x"), ("q", "a+b&c=d/é"), ("empty", "")]
    assert client.request("GET", "/partner/v1/products", params) == {"ok": True}
    (sent,) = net.requests
    assert server_accepts(sent)
    _, query, headers = as_received(sent)
    assert sorted(query) == sorted(params)  # nothing lost or changed on the way
    # DESIGN.md §5 by hand: sorted by name then value, RFC 3986 quoting with "~" kept and spaces as %20.
    canonical = "a=y&a=z&b=2&empty=&q=a%2Bb%26c%3Dd%2F%C3%A9&%E5%90%8D=%E5%80%BC%20~x"
    assert shop_partner.canonical_query(params) == canonical
    text = "\n".join(
        (
            "GET",
            "/partner/v1/products",
            canonical,
            headers["X-timestamp"],
            headers["X-nonce"],
            hashlib.sha256().hexdigest(),
        )
    )
    assert headers["X-signature"] == hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()
    path, query, _ = as_received(sent)
    assert not parse("GET", path, headers, query).matches("sk_another-secret")

    # A mapping of keyword parameters (None left out) is the same as the pairs.
    client.get("/partner/v1/orders", updated_since="2026-01-01T00:00:00+08:00", limit=5, cursor=None)
    path, query, _ = as_received(net.requests[-1])
    assert path == "/partner/v1/orders" and query == [("limit", "5"), ("updated_since", "2026-01-01T00:00:00+08:00")]
    assert server_accepts(net.requests[-1])


def test_a_post_with_a_chinese_body_is_signed_over_the_bytes_sent(net: FakeNet) -> None:
    client = PartnerClient("http://127.0.0.1:3000/", APP_KEY, SECRET)
    body = {
        "type": "inbound",
        "warehouse": "WH-SH",
        "quantity": 3,
        "reason": "到货入库 · 第二批",
        "reference": "送货单 7",
    }
    client.post("/partner/v1/inventory/SKU-1", body, idempotency_key="stock-SKU-1-0001")
    (sent,) = net.requests
    assert sent.get_method() == "POST" and server_accepts(sent)
    data = sent.data
    assert isinstance(data, bytes) and json.loads(data.decode("utf-8")) == body
    assert "到货入库".encode() in data  # UTF-8, not \\u escapes
    headers = dict(sent.header_items())
    assert headers["X-content-sha256"] == hashlib.sha256(data).hexdigest()
    assert headers["Content-type"] == "application/json" and headers["Idempotency-key"] == "stock-SKU-1-0001"
    # The function behind accepts exactly that body, and no other.
    event = {"headers": headers, "body": data.decode("utf-8"), "isBase64Encoded": False}
    _check_signed_body(event)
    with pytest.raises(Unauthorized):
        _check_signed_body({**event, "body": data.decode("utf-8").replace("3", "30")})
    with pytest.raises(ValueError, match="partner paths"):
        client.post("/admin/partners", body)


def test_a_base_url_with_a_stage_signs_the_path_after_the_stage(net: FakeNet) -> None:
    client = PartnerClient("https://x.execute-api.us-east-1.amazonaws.com/prod", APP_KEY, SECRET)
    client.get("/partner/v1/orders/ord_1", expand="lines")
    (sent,) = net.requests
    assert sent.full_url == "https://x.execute-api.us-east-1.amazonaws.com/prod/partner/v1/orders/ord_1?expand=lines"
    assert server_accepts(sent, stage="/prod")
    path, query, headers = as_received(sent, stage="/prod")
    assert not parse("GET", "/prod" + path, headers, query).matches(SECRET)


def test_the_cli_signs_the_path_after_the_stage_and_prints_json(
    net: FakeNet, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _stage_path("https://x/prod", "/partner/v1/products") == "/partner/v1/products"
    assert _stage_path("https://x/prod", "https://x/prod/partner/v1/products") == "/partner/v1/products"
    assert _stage_path("https://x/prod/", "https://x/prod/partner/v1/products") == "/partner/v1/products"
    assert _stage_path("http://127.0.0.1:3000", "http://127.0.0.1:3000/partner/v1/products") == "/partner/v1/products"
    assert _stage_path("https://x/prod", "https://x/production/partner/v1/x") == "/production/partner/v1/x"
    assert _stage_path("https://x/prod", "https://x/prod/partner/v1/inventory/A%20B") == "/partner/v1/inventory/A B"

    net.answers = [(200, {}, {"items": [{"name": "耳机"}], "next_cursor": None})]
    base = ["--url", "https://x/prod", "--app-key", APP_KEY, "--secret", SECRET]
    assert shop_partner.main([*base, "GET", "https://x/prod/partner/v1/products?limit=1", "q=耳机"]) == 0
    assert json.loads(capsys.readouterr().out) == {"items": [{"name": "耳机"}], "next_cursor": None}
    (sent,) = net.requests
    assert server_accepts(sent, stage="/prod")
    assert sorted(as_received(sent, "/prod")[1]) == [("limit", "1"), ("q", "耳机")]

    net.answers = [(403, {}, {"error": {"code": "FORBIDDEN", "message": "not allowed", "details": []}})]
    assert shop_partner.main([*base, "POST", "/partner/v1/inventory/SKU-1", "--data", '{"type": "inbound"}']) == 1
    assert json.loads(capsys.readouterr().err)["error"]["code"] == "FORBIDDEN"

    def unreachable(request: urllib.request.Request, timeout: float = 0) -> None:
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    assert shop_partner.main([*base, "GET", "/partner/v1/products"]) == 2
    assert "cannot reach https://x/prod" in capsys.readouterr().err


def test_a_throttled_request_is_retried_after_a_short_retry_after_with_a_fresh_nonce(
    net: FakeNet, sleeps: list[float]
) -> None:
    throttled = (429, {"Retry-After": "1"}, {"error": {"code": "THROTTLED", "message": "slow down", "details": []}})
    net.answers = [throttled, (200, {}, {"items": []})]
    assert PartnerClient("http://x", APP_KEY, SECRET).get("/partner/v1/products") == {"items": []}
    assert sleeps == [1] and len(net.requests) == 2
    nonces = {dict(r.header_items())["X-nonce"] for r in net.requests}
    assert len(nonces) == 2  # a retry is a new request: the old nonce would be a replay
    assert all(server_accepts(r) for r in net.requests)

    # Always throttled: the retries run out, and the caller gets the 429.
    net.answers, net.requests, sleeps[:] = [throttled], [], []
    with pytest.raises(PartnerError) as caught:
        PartnerClient("http://x", APP_KEY, SECRET, max_retries=1).get("/partner/v1/products")
    assert (caught.value.status, caught.value.code, len(net.requests), sleeps) == (429, "THROTTLED", 2, [1])


def test_a_spent_quota_or_another_error_is_never_retried(net: FakeNet, sleeps: list[float]) -> None:
    quota = {"error": {"code": "QUOTA_EXCEEDED", "message": "daily request quota used up", "details": []}}
    net.answers = [(429, {"Retry-After": "36000"}, quota)]
    with pytest.raises(PartnerError) as caught:
        PartnerClient("http://x", APP_KEY, SECRET).get("/partner/v1/products")
    assert (caught.value.status, caught.value.code, caught.value.headers["Retry-After"]) == (
        429,
        "QUOTA_EXCEEDED",
        "36000",
    )
    assert len(net.requests) == 1 and sleeps == []

    net.answers, net.requests = [(401, {}, {"error": {"code": "UNAUTHORIZED", "message": "no", "details": []}})], []
    with pytest.raises(PartnerError) as caught:
        PartnerClient("http://x", APP_KEY, SECRET).get("/partner/v1/products")
    assert caught.value.status == 401 and len(net.requests) == 1 and sleeps == []
