"""The local carrier sandbox: its secrets (made once, kept, overridable), and the callbacks it plays, checked two
ways: against a small receiver that verifies them with the shipping context's own signature check and parses them
with its own callback model, and through a small local platform whose callback route reads the carriers secret the
runner stored from the sandbox (what ``make run`` does), so the secret, the gateway and the signature meet as in AWS.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from functions.shared.errors import AppError
from functions.shared.wiring import PUBLIC, ContextManifest, Platform, Route, Secret, reads
from functions.shipping import service as shipping_service
from functions.shipping.model import CarrierCallback
from local.carrier_sandbox import DEFAULT_CARRIERS, CarrierSandbox, CarrierSandboxError, load_secrets
from local.runner import LocalPlatform, Settings

HERE = __name__


def verify(carrier: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
    """What the platform's callback route decides, before it looks anything up: the signature, then the body."""
    try:
        shipping_service.verify_carrier_signature(
            carrier, body, headers.get("x-carrier-timestamp"), headers.get("x-carrier-signature"), datetime.now(UTC)
        )
    except AppError as exc:
        return exc.status, exc.body()
    parsed = CarrierCallback.model_validate_json(body)
    return 200, {"received": True, "outcome": parsed.events[-1].status, "events": [e.event_id for e in parsed.events]}


# --- a handler for the small platform (runs in its workers) -----------------------------------------------------------


def carrier_echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raw = base64.b64decode(event["body"]) if event.get("isBase64Encoded") else (event.get("body") or "").encode()
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    status, answer = verify(event["pathParameters"]["carrier"], headers, raw)
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(answer)}


CARRIERS = Secret("carriers", "carrier callback secrets")
MANIFEST = ContextManifest(
    name="tracking",
    routes=(
        Route(
            name="CarrierEcho",
            handler=f"{HERE}.carrier_echo",
            method="POST",
            path="/callbacks/carriers/{carrier}",
            auth=PUBLIC,
            uses=(reads("secret:carriers"),),
        ),
    ),
)
PLATFORM = Platform(contexts=(MANIFEST,), secrets=(CARRIERS,))


# --- a receiver standing in for the gateway ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    carrier: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                carrier = self.path.rsplit("/", 1)[-1]
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.received.append(Received(carrier, headers, body))
                status, answer = verify(carrier, headers, body)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.received]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.server.shutdown()


@pytest.fixture(scope="module")
def sandbox(receiver: Receiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CarrierSandbox]:
    path = tmp_path_factory.mktemp("carriers") / "secrets.json"
    with CarrierSandbox(callback_base_url=receiver.url, secrets_path=path, env={}) as running:
        yield running


@pytest.fixture(autouse=True)
def sandbox_secrets(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """The receiver verifies with the sandbox's secrets, as if they were in the carriers secret."""
    if "sandbox" in request.fixturenames:
        running: CarrierSandbox = request.getfixturevalue("sandbox")
        monkeypatch.setattr(shipping_service, "carrier_secrets", lambda: dict(running.secrets))


@pytest.fixture
def received(receiver: Receiver) -> Iterator[list[Received]]:
    receiver.received.clear()
    yield receiver.received


def sandbox_call(sandbox: CarrierSandbox, path: str, body: Any = None, method: str = "POST") -> requests.Response:
    return requests.request(method, f"{sandbox.url}{path}", json=body, timeout=30)


def played(sandbox: CarrierSandbox, carrier: str, tracking: str, **body: Any) -> dict[str, Any]:
    response = sandbox_call(sandbox, f"/carriers/{carrier}/shipments/{tracking}/play", body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def outcomes(answer: dict[str, Any]) -> list[tuple[int, str]]:
    return [(d["status"], d["response"].get("outcome") or d["response"]["error"]["code"]) for d in answer["deliveries"]]


# --- secrets ----------------------------------------------------------------------------------------------------------


def test_secrets_are_made_once_kept_private_and_yield_to_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "carrier-sandbox.json"
    first, where = load_secrets(path, env={})
    assert where == path and list(first) == list(DEFAULT_CARRIERS)
    assert len(set(first.values())) == len(first) and all(len(s) == 64 for s in first.values())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again, _ = load_secrets(path, env={})
    assert again == first
    env = {"CARRIER_SANDBOX_CARRIERS": "sf-express,zto", "CARRIER_SANDBOX_SECRET_SF_EXPRESS": "given-secret"}
    chosen, _ = load_secrets(path, env=env)
    assert list(chosen) == ["sf-express", "zto"]
    assert chosen["sf-express"] == "given-secret"
    assert json.loads(path.read_text())["sf-express"] == first["sf-express"]  # the file keeps its own
    assert load_secrets(path, env={"CARRIER_SANDBOX_CARRIERS": "zto"})[0]["zto"] == chosen["zto"]
    with pytest.raises(CarrierSandboxError, match="is not a carrier code"):
        load_secrets(path, env={"CARRIER_SANDBOX_CARRIERS": "SF Express"})


def test_the_secrets_json_is_the_carriers_secret(sandbox: CarrierSandbox) -> None:
    assert json.loads(sandbox.secrets_json()) == sandbox.secrets
    assert sandbox.carriers == list(DEFAULT_CARRIERS)


# --- playing ----------------------------------------------------------------------------------------------------------


def test_a_play_sends_one_signed_callback_per_event_in_carrier_time_order(
    sandbox: CarrierSandbox, received: list[Received]
) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    answer = played(sandbox, "sf-express", "SF1000000001", events=["in_transit", "out_for_delivery", "delivered"])
    assert answer["accepted"] is True
    assert answer["callback_url"] == f"{sandbox.callback_base_url}/callbacks/carriers/sf-express"
    assert outcomes(answer) == [(200, "in_transit"), (200, "out_for_delivery"), (200, "delivered")]
    assert [r.carrier for r in received] == ["sf-express"] * 3
    bodies = [json.loads(r.body) for r in received]
    assert all(b["tracking_number"] == "SF1000000001" and len(b["events"]) == 1 for b in bodies)
    events = [b["events"][0] for b in bodies]
    assert events == answer["events"]
    assert [e["status"] for e in events] == ["in_transit", "out_for_delivery", "delivered"]
    assert len({e["event_id"] for e in events}) == 3
    times = [datetime.fromisoformat(e["occurred_at"]) for e in events]
    assert all(t.utcoffset() == timedelta(hours=8) for t in times)  # Beijing time, as the carriers report it
    assert [b - a for a, b in itertools.pairwise(times)] == [timedelta(seconds=1)] * 2
    assert before - timedelta(seconds=5) <= times[0] and times[-1] <= datetime.now(UTC) + timedelta(seconds=1)
    assert all(e["location"] and e["description"] for e in events)

    later = played(sandbox, "sf-express", "SF1000000001", status="exception", location="仓库 Depot")
    (exception,) = later["events"]
    assert exception["location"] == "仓库 Depot"
    assert datetime.fromisoformat(exception["occurred_at"]) > times[-1]  # always after the shipment's earlier events


def test_out_of_order_duplicates_and_one_callback_for_all(sandbox: CarrierSandbox, received: list[Received]) -> None:
    answer = played(sandbox, "yto", "YT2000000001", events=["in_transit", "delivered"], order="reversed", duplicates=2)
    sent = [json.loads(r.body)["events"][0]["status"] for r in received]
    assert sent == ["delivered", "delivered", "in_transit", "in_transit"]
    assert received[0].body == received[1].body and received[0].headers == received[1].headers  # byte for byte
    times = {e["status"]: e["occurred_at"] for e in answer["events"]}
    assert times["in_transit"] < times["delivered"]  # carrier times follow the list, whatever the order sent

    received.clear()
    together = played(sandbox, "yto", "YT2000000002", events=["in_transit", "out_for_delivery"], together=True)
    assert len(received) == 1 and len(json.loads(received[0].body)["events"]) == 2
    assert outcomes(together) == [(200, "out_for_delivery")]


def test_a_tampered_callback_is_refused_by_the_platform_check_and_not_remembered(
    sandbox: CarrierSandbox, received: list[Received]
) -> None:
    forged = played(sandbox, "jd-logistics", "JD3000000001", events=["in_transit"], tamper="signature")
    assert outcomes(forged) == [(401, "SIGNATURE_INVALID")] and forged["accepted"] is False
    stale = played(sandbox, "jd-logistics", "JD3000000001", events=["in_transit"], tamper="stale")
    assert outcomes(stale) == [(401, "SIGNATURE_EXPIRED")]
    shown = sandbox_call(sandbox, "/carriers/jd-logistics/shipments/JD3000000001", method="GET")
    assert shown.status_code == 200 and shown.json()["events"] == []
    assert len(shown.json()["deliveries"]) == 2


def test_resend_sends_the_played_events_again_freshly_signed(sandbox: CarrierSandbox, received: list[Received]) -> None:
    first = played(sandbox, "sf-express", "SF4000000001", events=["in_transit", "delivered"])
    ids = [e["event_id"] for e in first["events"]]
    received.clear()
    again = sandbox_call(sandbox, "/carriers/sf-express/shipments/SF4000000001/resend")
    assert again.status_code == 200, again.text
    assert [json.loads(r.body)["events"][0]["event_id"] for r in received] == ids
    one = sandbox_call(sandbox, "/carriers/sf-express/shipments/SF4000000001/resend", {"event_ids": ids[:1]})
    assert [e["event_id"] for e in one.json()["events"]] == ids[:1]
    shown = sandbox_call(sandbox, "/carriers/sf-express/shipments/SF4000000001", method="GET").json()
    assert [e["event_id"] for e in shown["events"]] == ids and len(shown["deliveries"]) == 5
    assert len(sandbox_call(sandbox, "/deliveries", method="GET").json()["deliveries"]) >= 5


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/carriers/no-such-carrier/shipments/SF1/play", {"events": ["in_transit"]}, 404),
        ("/carriers/sf-express/shipments/SF5/play", {}, 400),
        ("/carriers/sf-express/shipments/SF5/play", {"events": []}, 400),
        ("/carriers/sf-express/shipments/SF5/play", {"events": [3]}, 400),
        ("/carriers/sf-express/shipments/SF5/play", {"events": ["delivered"], "order": "random"}, 400),
        ("/carriers/sf-express/shipments/SF5/play", {"events": ["delivered"], "duplicates": 0}, 400),
        ("/carriers/sf-express/shipments/SF5/play", {"events": ["delivered"], "tamper": "body"}, 400),
        ("/carriers/sf-express/shipments/NEVER-PLAYED/resend", {}, 404),
        ("/nowhere", {}, 404),
    ],
)
def test_bad_requests_to_the_sandbox_are_refused_without_sending_anything(
    sandbox: CarrierSandbox, received: list[Received], path: str, body: Any, status: int
) -> None:
    response = sandbox_call(sandbox, path, body)
    assert response.status_code == status, response.text
    assert "error" in response.json()
    assert received == []


def test_the_index_says_how_to_use_it(sandbox: CarrierSandbox) -> None:
    index = sandbox_call(sandbox, "/", method="GET")
    assert index.status_code == 200
    assert index.json()["carriers"] == list(DEFAULT_CARRIERS)
    assert "play" in index.json() and "secret" not in json.dumps(index.json()).lower()


# --- in the local platform --------------------------------------------------------------------------------------------


def test_the_runner_stores_the_sandbox_secrets_and_the_platform_accepts_its_callbacks(tmp_path: Path) -> None:
    settings = Settings(port=0, workers=1, seed=False, prefix="carriers", payment_sandbox=False, warm_handlers=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CARRIER_SANDBOX_SECRETS_FILE", str(tmp_path / "secrets.json"))
        patch.delenv("CARRIER_SANDBOX_CARRIERS", raising=False)
        running = LocalPlatform(PLATFORM, settings)
        running.start()
    try:
        running.mark_ready()
        sandbox = running.carrier_sandbox
        assert sandbox is not None and running.carrier_secret_stored
        assert sandbox.callback_base_url == running.url
        assert running.session is not None
        stored = running.session.client("secretsmanager").get_secret_value(
            SecretId=running.created.env["CARRIERS_SECRET_ARN"]
        )["SecretString"]
        assert json.loads(stored) == sandbox.secrets
        answer = played(sandbox, "jd-logistics", "JD6000000001", events=["in_transit", "delivered"])
        assert outcomes(answer) == [(200, "in_transit"), (200, "delivered")]
        forged = played(sandbox, "jd-logistics", "JD6000000001", events=["delivered"], tamper="signature")
        assert outcomes(forged) == [(401, "SIGNATURE_INVALID")]
    finally:
        running.stop()
    assert running.carrier_sandbox is None


def test_the_sandbox_can_be_switched_off() -> None:
    assert Settings.from_env({"LOCAL_CARRIER_SANDBOX": "0"}).carrier_sandbox is False
    assert Settings.from_env({}).carrier_sandbox is True
    assert Settings.from_env({"CARRIER_SANDBOX_PORT": "4123"}).carrier_sandbox_port == 4123
    with pytest.raises(ValueError, match="CARRIER_SANDBOX_PORT must be an integer"):
        Settings.from_env({"CARRIER_SANDBOX_PORT": "x"})
