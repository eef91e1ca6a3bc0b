"""The local AWS: moto in server mode, one request at a time, in its own process.

moto's backends are plain Python objects without locking, so two overlapping requests can interleave inside a
``TransactWriteItems`` or between a condition check and its write. DynamoDB guarantees that a conditional write is
atomic, and our invariants (stock never negative, version checks) rely on it, so :class:`SerialisedApp` lets exactly
one AWS request run at a time. The HTTP server itself stays threaded so that a slow client (or one that is still
sending its body) does not stop the next connection from being accepted.

Run as ``python -m local.moto_server --port N`` (``0`` = any free port). The child prints one JSON line on stdout,
``{"port": N}`` once it listens or ``{"error": "..."}`` if it cannot, and stops when its stdin closes, so it never
outlives the local platform that started it, even if that one is killed with SIGKILL.

:class:`MotoServer` is the parent's side: start the child, wait for that line, stop it.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import IO, Any

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 30.0


class SerialisedApp:
    """WSGI middleware: the wrapped application handles one request at a time.

    The response body is materialised under the lock too: a WSGI application may do its work lazily while the
    server iterates the body, and that work must not overlap the next request either.
    """

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        with self._lock:
            result = self._app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


def build_app() -> WsgiApp:
    """moto's own server application (as ``moto.server.main`` builds it), serialised."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    install_item_level_transaction_rollback()
    return SerialisedApp(DomainDispatcherApplication(create_backend_app))


class _Undo:
    """The items a transaction may touch, as they were before it, and each stream's length: enough to undo it."""

    def __init__(self, backend: Any, transact_items: list[dict[str, Any]]) -> None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        self._items: list[tuple[Any, Any, Any, Any]] = []  # (table, hash key, range key, deep copy of the item)
        self._streams: dict[int, tuple[Any, int]] = {}
        for element in transact_items:
            try:
                op_type, op = next(iter(element.items()))
                table = backend.tables[op["TableName"]]
                key = op["Item"] if op_type == "Put" else op["Key"]
                hash_key = DynamoType(key[table.hash_key_attr])
                range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            except (KeyError, TypeError, AttributeError, StopIteration):
                continue  # moto rejects this element before it writes anything
            self._items.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
            shard = table.stream_shard
            if shard is not None:
                self._streams.setdefault(id(shard), (shard, len(shard.items)))

    def restore(self) -> None:
        for table, hash_key, range_key, before in reversed(self._items):
            if range_key is None:
                if before is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = before
            elif before is None:
                table.items.get(hash_key, {}).pop(range_key, None)
            else:
                table.items[hash_key][range_key] = before
        for shard, length in self._streams.values():
            del shard.items[length:]


def install_item_level_transaction_rollback() -> None:
    """Make moto's ``TransactWriteItems`` cost what the transaction touches, not what the table holds.

    To be able to roll back, moto deep-copies every table a transaction names, once per element of the transaction,
    stream records included. The cost grows with the table, and creating the demo catalogue (about ten items per
    product) took tens of seconds. Here the rollback copies only the items the transaction names (and remembers
    each stream's length); moto's own table copies are made no-ops for the duration of the call. This is safe
    because requests are serialised: nothing else runs while the class attribute is patched.
    """
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "_item_level_rollback", False):
        return

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        undo = _Undo(self, transact_items)
        Table.__deepcopy__ = _same  # type: ignore[attr-defined]
        try:
            original(self, transact_items)
        except BaseException:
            undo.restore()
            raise
        finally:
            del Table.__deepcopy__  # type: ignore[attr-defined]

    transact_write_items._item_level_rollback = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _same(self: Any, memo: dict[int, Any]) -> Any:
    return self


# --- the child process ---------------------------------------------------------------------------------------------


def _announce(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def serve(port: int) -> int:
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):
        # One access-log line per AWS call would drown the gateway's own request log.
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return

    # Bind here rather than in werkzeug, which prints its own advice and exits on a taken port.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        _announce({"error": f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}"})
        return 2
    server = make_server(
        "127.0.0.1", port, build_app(), threaded=True, request_handler=QuietHandler, fd=listener.fileno()
    )
    # moto builds some URLs (queue URLs, presigned S3 URLs) from MOTO_PORT.
    os.environ["MOTO_PORT"] = str(server.port)
    _announce({"port": server.port})
    # Nobody reads our stdout after the announcement; a full pipe would block moto on its next print().
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def stop_when_parent_goes() -> None:
        # os.read on the raw descriptor, not sys.stdin.buffer: a daemon thread blocked inside the buffered reader
        # holds its lock, and interpreter shutdown then aborts with "could not acquire lock for <stdin>".
        try:
            while os.read(sys.stdin.fileno(), 4096):
                pass
        except OSError:
            pass
        server.shutdown()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threading.Thread(target=stop_when_parent_goes, name="parent-watch", daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="moto server with serialised request handling (loopback only)")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1; 0 picks a free one")
    args = parser.parse_args(argv)
    return serve(args.port)


# --- the parent's side ---------------------------------------------------------------------------------------------


class MotoStartError(RuntimeError):
    pass


class MotoServer:
    """Starts ``python -m local.moto_server`` and knows its endpoint."""

    def __init__(self, port: int = 0) -> None:
        self.requested_port = port
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> None:
        """Start the child without waiting for it (so the caller can do other start-up work meanwhile)."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "local.moto_server", "--port", str(self.requested_port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=REPO_ROOT,
            # Its own session: a Ctrl-C in the terminal goes to our process group, and we stop moto ourselves,
            # after the gateway and the workers that still talk to it.
            start_new_session=True,
        )

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> str:
        process = self._process
        if process is None or process.stdout is None:
            raise MotoStartError("moto server was not launched")
        line = _read_line(process.stdout, timeout_s)
        if not line:
            code = process.poll()
            if code is None:
                self.stop()
                raise MotoStartError(f"moto server did not start within {timeout_s:.0f} s")
            raise MotoStartError(f"moto server exited with status {code} before it was ready (see its output above)")
        message = json.loads(line)
        if "error" in message:
            process.wait(timeout=5)
            raise MotoStartError(f"moto server: {message['error']}")
        self.port = int(message["port"])
        return self.endpoint

    def start(self, timeout_s: float = START_TIMEOUT_S) -> str:
        self.launch()
        return self.wait_ready(timeout_s)

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout_s: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()  # the child's signal to shut down
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _read_line(stream: IO[bytes], timeout_s: float) -> str:
    """Read one line from a pipe, giving up after ``timeout_s`` (a child that hangs must not hang us)."""
    deadline = time.monotonic() + timeout_s
    fd = stream.fileno()
    buffer = b""
    while not buffer.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return ""
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 1)
        if not chunk:
            return ""
        buffer += chunk
    return buffer.decode().strip()


if __name__ == "__main__":
    raise SystemExit(main())
