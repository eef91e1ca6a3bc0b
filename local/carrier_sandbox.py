"""A local carrier sandbox: plays a shipment's tracking events as a carrier (SF Express, YTO, JD Logistics, ...)
would, by sending signed callbacks to the gateway's ``POST /callbacks/carriers/{carrier}``.

Each carrier has its own secret. A callback is the JSON ``{"tracking_number", "events": [{"event_id", "status",
"occurred_at", "location", "description"}]}`` with the headers ``X-Carrier-Timestamp`` (unix seconds) and
``X-Carrier-Signature`` = lowercase hex HMAC-SHA256, keyed with the carrier's secret, of ``<timestamp>.<raw body>``.
The signing here is written from that rule, not imported from the shipping context, so the platform's verification
is checked against an independent implementation.

Endpoints (JSON in and out):

* ``POST /carriers/{carrier}/shipments/{tracking_number}/play`` with ``{"events": ["in_transit",
  "out_for_delivery", "delivered"]}`` (each item a status, or an object with ``status`` and optionally
  ``location``, ``description``, ``occurred_at``, ``event_id``), or the shorthand ``{"status": "exception",
  "location": "..."}`` for one event. Options: ``order`` = ``given`` (default) | ``reversed`` | ``shuffled``, the
  order in which the events are *sent* (their carrier times always follow the list, so ``reversed`` makes them arrive
  out of order); ``duplicates`` = 1..20, each callback sent that many times byte for byte (a carrier's retry);
  ``together`` = true, all events in one callback instead of one callback each; ``tamper`` = ``signature`` (a
  wrong signature) | ``stale`` (a timestamp ten minutes old), to see the platform refuse it. The answer lists the
  events as sent and every delivery with the platform's status and body.
* ``POST /carriers/{carrier}/shipments/{tracking_number}/resend``: every event played for that shipment so far (or
  those named in ``{"event_ids": [...]}``) again, one callback each, freshly signed (duplicates for the platform).
* ``GET /carriers/{carrier}/shipments/{tracking_number}``: the events played and their deliveries.
* ``GET /deliveries``: recent deliveries; ``GET /``: the carriers, the callback URL and this usage.

Carrier times (``occurred_at``, in Beijing time as Chinese carriers report them) are one second apart within a play,
the last one now, and always after the shipment's earlier events; an explicit ``occurred_at`` is sent as given.

Secrets are made on the first run and kept in ``.local/carrier-sandbox.json`` (mode 600;
``CARRIER_SANDBOX_SECRETS_FILE`` moves it), so a developer can sign a callback by hand; ``CARRIER_SANDBOX_CARRIERS``
(comma-separated) chooses the carriers. :meth:`CarrierSandbox.secrets_json` is the value of the platform's
``carriers`` secret. Loopback only, like the rest of the local platform.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import random
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

log = logging.getLogger("local.carrier_sandbox")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SECRETS_FILE = REPO / ".local" / "carrier-sandbox.json"
DEFAULT_CARRIERS = ("sf-express", "yto", "jd-logistics")
CARRIER_RE = re.compile(r"[a-z0-9][a-z0-9_-]{1,31}")
STATUSES = ("in_transit", "out_for_delivery", "delivered", "exception")
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
STEP = timedelta(seconds=1)
STALE_S = 600
MAX_BODY_BYTES = 256 * 1024
MAX_EVENTS = 100
MAX_DUPLICATES = 20
MAX_DELIVERIES_KEPT = 500
CALLBACK_TIMEOUT_S = 30.0
# What a carrier's scan says by default, per status (location, description).
DEFAULT_SCANS: dict[str, tuple[str, str]] = {
    "in_transit": ("上海转运中心 Shanghai sorting centre", "快件已发往下一站 On its way to the next hub"),
    "out_for_delivery": ("浦东新区营业部 Pudong depot", "快递员正在派送 Out for delivery"),
    "delivered": ("世纪大道 100 号 100 Century Avenue", "已签收 Delivered, signed for by the recipient"),
    "exception": ("浦东新区营业部 Pudong depot", "收件人电话无人接听 The recipient could not be reached"),
}


class CarrierSandboxError(ValueError):
    """Bad sandbox configuration (a carrier name or secret that cannot be used)."""


def carrier_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of ``<timestamp>.<body>`` keyed with the carrier's secret."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _env_name(carrier: str) -> str:
    return "CARRIER_SANDBOX_SECRET_" + carrier.upper().replace("-", "_")


def load_secrets(path: Path | None = None, env: Mapping[str, str] | None = None) -> tuple[dict[str, str], Path]:
    """{carrier: secret} for the configured carriers: ``CARRIER_SANDBOX_SECRET_<CARRIER>`` if set, else from the
    secrets file, else new (then saved). Returns the secrets and the file's path."""
    env = os.environ if env is None else env
    path = path or Path(env.get("CARRIER_SANDBOX_SECRETS_FILE") or DEFAULT_SECRETS_FILE)
    raw_names = env.get("CARRIER_SANDBOX_CARRIERS", "").strip()
    names = [n.strip() for n in raw_names.split(",") if n.strip()] if raw_names else list(DEFAULT_CARRIERS)
    bad = [n for n in names if not CARRIER_RE.fullmatch(n)]
    if bad:
        raise CarrierSandboxError(
            f"CARRIER_SANDBOX_CARRIERS: {', '.join(bad)} is not a carrier code (a-z, 0-9, - and _, 2-32 characters)"
        )
    stored: dict[str, str] = {}
    if path.is_file():
        try:
            loaded = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            log.warning("carrier sandbox: %s is unreadable (%s); making new secrets", path, exc)
            loaded = {}
        if isinstance(loaded, dict):
            stored = {str(k): v for k, v in loaded.items() if isinstance(v, str) and v}
    values: dict[str, str] = {}
    changed = False
    for name in dict.fromkeys(names):
        from_env = env.get(_env_name(name), "").strip()
        if from_env:
            values[name] = from_env
        elif name in stored:
            values[name] = stored[name]
        else:
            values[name] = stored[name] = secrets.token_hex(32)
            changed = True
    if changed:
        _save(path, stored)
    return values, path


def _save(path: Path, values: Mapping[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as sink:
        json.dump(dict(values), sink, indent=2, sort_keys=True)
        sink.write("\n")
    os.replace(temporary, path)  # atomic: two platforms starting at once each leave a whole file


# --- state ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    carrier: str
    tracking_number: str
    event_ids: tuple[str, ...]
    url: str | None
    status: int | None  # None: not delivered (no URL, connection refused)
    response: Any  # the platform's answer, parsed when it is JSON
    at: float

    def as_json(self) -> dict[str, Any]:
        return {
            "carrier": self.carrier,
            "tracking_number": self.tracking_number,
            "event_ids": list(self.event_ids),
            "url": self.url,
            "status": self.status,
            "response": self.response,
            "at": self.at,
        }


@dataclass
class Track:
    """What the sandbox has played for one shipment."""

    events: list[dict[str, str]] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    last: datetime | None = None
    sequence: int = 0


class PlayError(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --- the server -------------------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64
    sandbox: CarrierSandbox


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "CarrierSandbox/1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            status, answer = 413, {"error": "body too large"}
        else:
            body = self.rfile.read(length) if length > 0 else b""
            status, answer = self.server.sandbox.handle(self.command, urlsplit(self.path).path, body)
        payload = json.dumps(answer, ensure_ascii=False, indent=2).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("carrier sandbox: " + format, *args)


_SHIPMENT = re.compile(r"/carriers/([^/]+)/shipments/([^/]+)(?:/(play|resend))?/?")


class CarrierSandbox:
    """The sandbox server. Binds at construction (a taken port fails at once); :meth:`start` serves."""

    def __init__(
        self,
        port: int = 0,
        *,
        callback_base_url: str | None = None,
        secrets_path: Path | None = None,
        env: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.secrets, self.secrets_path = load_secrets(secrets_path, env)
        self.callback_base_url = callback_base_url.rstrip("/") if callback_base_url else None
        self._server = _Server((host, port), _Handler)
        self._server.sandbox = self
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self.tracks: dict[tuple[str, str], Track] = {}
        self.deliveries: list[Delivery] = []

    # --- life cycle ----------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def carriers(self) -> list[str]:
        return list(self.secrets)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="carrier-sandbox", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> CarrierSandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def secrets_json(self) -> str:
        """The ``carriers`` secret's value: ``{carrier: secret}``."""
        return json.dumps(self.secrets, indent=2, sort_keys=True)

    def callback_url(self, carrier: str) -> str | None:
        return f"{self.callback_base_url}/callbacks/carriers/{carrier}" if self.callback_base_url else None

    # --- signing, for the sandbox and for tests that make their own callbacks ------------------------------------

    def signed(
        self, carrier: str, body: bytes, *, timestamp: int | None = None, tamper: str | None = None
    ) -> dict[str, str]:
        """The headers of a callback of ``carrier`` with ``body``, signed now (or at ``timestamp``)."""
        if timestamp is None:
            timestamp = int(time.time()) - (STALE_S if tamper == "stale" else 0)
        moment = str(timestamp)
        signature = carrier_signature(self.secrets[carrier], moment, body)
        if tamper == "signature":
            signature = carrier_signature("not-" + self.secrets[carrier], moment, body)
        return {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"CarrierSandbox/1 ({carrier})",
            "X-Carrier-Timestamp": moment,
            "X-Carrier-Signature": signature,
        }

    # --- dispatch ------------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        method = "GET" if method == "HEAD" else method
        try:
            match = _SHIPMENT.fullmatch(path)
            if match is not None:
                carrier, tracking, action = unquote(match.group(1)), unquote(match.group(2)), match.group(3)
                if carrier not in self.secrets:
                    return 404, {"error": f"the sandbox has no carrier {carrier!r}; it has {', '.join(self.secrets)}"}
                wanted = "GET" if action is None else "POST"
                if method != wanted:
                    return 405, {"error": f"{method} is not allowed on {path}"}
                if action is None:
                    return 200, self._show(carrier, tracking)
                options = self._json(body)
                if action == "play":
                    return 200, self.play(carrier, tracking, options)
                return 200, self.resend(carrier, tracking, options)
            if path in ("/deliveries", "/deliveries/"):
                if method != "GET":
                    return 405, {"error": f"{method} is not allowed on {path}"}
                with self._lock:
                    return 200, {"deliveries": [d.as_json() for d in self.deliveries]}
            if path in ("", "/", "/carriers", "/carriers/"):
                if method != "GET":
                    return 405, {"error": f"{method} is not allowed on {path}"}
                return 200, self._index()
            return 404, {"error": f"the carrier sandbox has nothing at {path}"}
        except PlayError as exc:
            return exc.status, {"error": str(exc)}
        except Exception as exc:
            log.exception("carrier sandbox: %s %s failed", method, path)
            return 500, {"error": f"sandbox failure: {exc}"}

    @staticmethod
    def _json(body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            parsed = json.loads(body)
        except ValueError:
            raise PlayError(400, "the body is not JSON") from None
        if not isinstance(parsed, dict):
            raise PlayError(400, "the body is a JSON object")
        return parsed

    def _index(self) -> dict[str, Any]:
        return {
            "carriers": self.carriers,
            "callback_url": self.callback_url("{carrier}"),
            "statuses": list(STATUSES),
            "play": "POST /carriers/{carrier}/shipments/{tracking_number}/play "
            '{"events": ["in_transit", "out_for_delivery", "delivered"]} '
            'or {"status": "exception", "location": "..."}; '
            "options order=given|reversed|shuffled, duplicates=1..20, together=true, tamper=signature|stale",
            "resend": 'POST /carriers/{carrier}/shipments/{tracking_number}/resend [{"event_ids": [...]}]',
            "show": "GET /carriers/{carrier}/shipments/{tracking_number}; GET /deliveries",
        }

    def _show(self, carrier: str, tracking: str) -> dict[str, Any]:
        with self._lock:
            track = self.tracks.get((carrier, tracking.upper()))
            if track is None:
                raise PlayError(404, f"nothing has been played for {carrier} {tracking}")
            return {
                "carrier": carrier,
                "tracking_number": tracking,
                "events": list(track.events),
                "deliveries": [d.as_json() for d in track.deliveries],
            }

    # --- playing -------------------------------------------------------------------------------------------------

    def play(self, carrier: str, tracking: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """Make the events of ``options``, send them and say what the platform answered."""
        items = self._items(options)
        order = options.get("order", "given")
        if order not in ("given", "reversed", "shuffled"):
            raise PlayError(400, "order is given, reversed or shuffled")
        duplicates = self._duplicates(options)
        together = options.get("together", False)
        if not isinstance(together, bool):
            raise PlayError(400, "together is true or false")
        tamper = options.get("tamper")
        if tamper not in (None, "signature", "stale"):
            raise PlayError(400, "tamper is signature or stale")
        with self._lock:
            track = self.tracks.setdefault((carrier, tracking.upper()), Track())
            events = self._events(track, tracking, items)
            if tamper is None:  # a refused callback is not part of the shipment's history
                track.events.extend(events)
        sending = list(events)
        if order == "reversed":
            sending.reverse()
        elif order == "shuffled":
            random.shuffle(sending)
        batches = [sending] if together else [[e] for e in sending]
        deliveries = [d for batch in batches for d in self._send(carrier, tracking, batch, duplicates, tamper)]
        return self._answer(carrier, tracking, events, deliveries)

    def resend(self, carrier: str, tracking: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """Events played before, again (each in its own callback, freshly signed), as a carrier's retry."""
        wanted = options.get("event_ids")
        if wanted is not None and (not isinstance(wanted, list) or not all(isinstance(i, str) for i in wanted)):
            raise PlayError(400, "event_ids is a list of event ids")
        duplicates = self._duplicates(options)
        with self._lock:
            track = self.tracks.get((carrier, tracking.upper()))
            if track is None or not track.events:
                raise PlayError(404, f"nothing has been played for {carrier} {tracking}")
            events = [e for e in track.events if wanted is None or e["event_id"] in wanted]
        unknown = sorted(set(wanted or ()) - {e["event_id"] for e in events})
        if unknown:
            raise PlayError(404, f"no such events were played: {', '.join(unknown)}")
        deliveries = [d for e in events for d in self._send(carrier, tracking, [e], duplicates, None)]
        return self._answer(carrier, tracking, events, deliveries)

    def _answer(
        self, carrier: str, tracking: str, events: list[dict[str, str]], deliveries: list[Delivery]
    ) -> dict[str, Any]:
        return {
            "carrier": carrier,
            "tracking_number": tracking,
            "callback_url": self.callback_url(carrier),
            "events": events,
            "deliveries": [d.as_json() for d in deliveries],
            "accepted": bool(deliveries) and all(d.status is not None and 200 <= d.status < 300 for d in deliveries),
        }

    @staticmethod
    def _duplicates(options: Mapping[str, Any]) -> int:
        duplicates = options.get("duplicates", 1)
        if isinstance(duplicates, bool) or not isinstance(duplicates, int) or not 1 <= duplicates <= MAX_DUPLICATES:
            raise PlayError(400, f"duplicates is an integer 1..{MAX_DUPLICATES}")
        return duplicates

    @staticmethod
    def _items(options: Mapping[str, Any]) -> list[dict[str, Any]]:
        if "events" in options:
            raw = options["events"]
            if not isinstance(raw, list) or not raw or len(raw) > MAX_EVENTS:
                raise PlayError(400, f"events is a list of 1..{MAX_EVENTS} statuses or event objects")
        elif "status" in options:
            raw = [{k: options[k] for k in ("status", "location", "description", "occurred_at") if k in options}]
        else:
            raise PlayError(400, 'say what happens: {"events": ["in_transit", ...]} or {"status": "exception"}')
        items: list[dict[str, Any]] = []
        for item in raw:
            event = {"status": item} if isinstance(item, str) else item
            if not isinstance(event, dict) or not isinstance(event.get("status"), str):
                raise PlayError(400, "each event is a status or an object with a status")
            for name in ("location", "description", "occurred_at", "event_id"):
                if name in event and not isinstance(event[name], str):
                    raise PlayError(400, f"an event's {name} is a string")
            items.append(event)  # an unknown status is sent as it is: the platform decides about it
        return items

    @staticmethod
    def _events(track: Track, tracking: str, items: list[dict[str, Any]]) -> list[dict[str, str]]:
        """The events to send, with ids and carrier times (one second apart, the last now, after earlier ones)."""
        now = datetime.now(BEIJING).replace(microsecond=0)
        start = now - STEP * (len(items) - 1)
        if track.last is not None and start <= track.last:
            start = track.last + STEP
        events = []
        for position, item in enumerate(items):
            track.sequence += 1
            moment = start + STEP * position
            location, description = DEFAULT_SCANS.get(item["status"], ("", ""))
            events.append(
                {
                    "event_id": item.get("event_id") or f"{tracking.upper()}-{track.sequence:04d}",
                    "status": item["status"],
                    "occurred_at": item.get("occurred_at") or moment.isoformat(),
                    "location": item.get("location", location),
                    "description": item.get("description", description),
                }
            )
            track.last = max(track.last or moment, moment)
        return events

    def _send(
        self, carrier: str, tracking: str, events: list[dict[str, str]], duplicates: int, tamper: str | None
    ) -> list[Delivery]:
        body = json.dumps({"tracking_number": tracking, "events": events}, ensure_ascii=False).encode()
        headers = self.signed(carrier, body, tamper=tamper)
        ids = tuple(e["event_id"] for e in events)
        return [self._post(carrier, tracking, ids, headers, body, record=tamper is None) for _ in range(duplicates)]

    def _post(
        self,
        carrier: str,
        tracking: str,
        ids: tuple[str, ...],
        headers: Mapping[str, str],
        body: bytes,
        record: bool,
    ) -> Delivery:
        url = self.callback_url(carrier)
        status: int | None = None
        text = ""
        if url is None:
            text = "no callback URL: the sandbox was started without the gateway's URL"
        else:
            request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT_S) as answer:  # noqa: S310
                    status, text = answer.status, answer.read(4000).decode("utf-8", "replace")
            except urllib.error.HTTPError as exc:
                status, text = exc.code, exc.read(4000).decode("utf-8", "replace")
            except (OSError, ValueError) as exc:
                text = f"not delivered: {exc}"
        try:
            response: Any = json.loads(text) if text else None
        except ValueError:
            response = text
        delivery = Delivery(carrier, tracking, ids, url, status, response, time.time())
        if record and (status is None or not 200 <= status < 300):
            log.warning("carrier sandbox: %s callback for %s to %s: %s", carrier, tracking, url, status or text)
        with self._lock:
            self.deliveries.append(delivery)
            del self.deliveries[:-MAX_DELIVERIES_KEPT]
            track = self.tracks.get((carrier, tracking.upper()))
            if track is not None:
                track.deliveries.append(delivery)
        return delivery
