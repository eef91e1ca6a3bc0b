"""Handler workers: processes that run Lambda handlers the way Lambda containers do.

A worker runs one invocation at a time and keeps its imported modules between invocations (warm starts), like a
Lambda execution environment. That matters beyond fidelity: a Powertools resolver is a module-level object that
holds the current event, so two invocations in one process at once would read each other's requests.

Workers are forked from a ``forkserver`` that has already imported the heavy libraries (boto3, pydantic,
Powertools), so a new or replacement worker is ready in milliseconds. The fork server ignores SIGINT and so do the
workers: a Ctrl-C in the terminal reaches the whole process group, and the platform stops its workers itself, after
the gateway has stopped sending them work.

The event and the result cross the process boundary as JSON, as they cross the Lambda API: a handler gets a fresh
dict, and a result that is not JSON-serialisable is a ``Runtime.MarshalError``. A handler that raises, times out or
kills its process is reported as Lambda reports it (``errorType``, ``errorMessage``, ``stackTrace``); a worker that
timed out or died is replaced.

What a handler writes to stdout and stderr during an invocation is captured at the file-descriptor level (so the
Powertools logger's stream, bound to ``sys.stdout`` at import, is caught too), echoed to the console as before, and
returned with the result as the invocation's log lines, which is what CloudWatch Logs would receive (the platform's
log subscriptions read them, local.logs).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import multiprocessing
import os
import queue
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

# Imported once in the fork server, so that every worker starts with them loaded. Importing is harmless before the
# environment is known: none of these reads settings or creates clients at import time.
DEFAULT_PRELOAD = (
    "boto3",
    "botocore.session",
    "pydantic",
    "aws_lambda_powertools",
    "aws_lambda_powertools.event_handler",
    "local.apigw",
)
# Lambda gives a function's initialisation (its imports) its own 10 s on top of the invocation timeout.
INIT_ALLOWANCE_S = 10.0
TIMED_OUT = "timed-out"
DIED = "died"


class PoolClosed(RuntimeError):
    pass


@dataclass
class Invocation:
    """The outcome of one invocation: ``payload`` (the handler's JSON result) or ``error`` (Lambda's error shape)."""

    payload: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    logs: list[str] = field(default_factory=list)  # what the handler wrote to stdout/stderr, line by line

    @property
    def ok(self) -> bool:
        return self.error is None

    def error_text(self) -> str:
        if self.error is None:
            return ""
        trace = "".join(self.error.get("stackTrace") or [])
        head = f"{self.error.get('errorType', 'Error')}: {self.error.get('errorMessage', '')}"
        return f"{trace}{head}" if trace else head


def _error(error_type: str, message: str, trace: list[str] | None = None) -> dict[str, Any]:
    return {"errorType": error_type, "errorMessage": message, "stackTrace": trace or []}


# --- inside a worker -----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def captured_output() -> Iterator[list[str]]:
    """Collect what is written to file descriptors 1 and 2 inside the block (the list is filled when it ends), and
    write it on to where they pointed before, so the console shows it as if nothing had been captured."""
    lines: list[str] = []
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as out_sink, tempfile.TemporaryFile() as err_sink:
        saved = {1: os.dup(1), 2: os.dup(2)}
        os.dup2(out_sink.fileno(), 1)
        os.dup2(err_sink.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, sink in ((1, out_sink), (2, err_sink)):
                os.dup2(saved[fd], fd)
                os.close(saved[fd])
                sink.seek(0)
                data = sink.read()
                if data:
                    os.write(fd, data)
                    lines.extend(data.decode("utf-8", errors="replace").splitlines())


class _Runtime:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._invocation_env: set[str] = set()
        self._base_env: dict[str, str] = {}

    def loop(self) -> None:
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                return  # the platform is gone
            kind = message[0]
            if kind == "stop":
                return
            if kind == "configure":
                reply: tuple[Any, ...] = self._configure(message[1], message[2])
            elif kind == "invoke":
                reply = self._invoke(message[1])
            elif kind == "call":
                reply = self._call(message[1], message[2])
            else:
                reply = ("error", _error("Runtime.UnknownMessage", repr(kind)))
            sys.stdout.flush()
            sys.stderr.flush()
            try:
                self._conn.send(reply)
            except (EOFError, OSError):
                return

    def _configure(self, env: Mapping[str, str], warm: Sequence[str]) -> tuple[str, Any]:
        # Replace, not add to, what the platform's own shell had: an inherited AWS_PROFILE or
        # AWS_ENDPOINT_URL_DYNAMODB must not send a function anywhere but the local moto.
        for key in [k for k in os.environ if k.startswith(("AWS_", "POWERTOOLS_"))]:
            del os.environ[key]
        os.environ.update(env)
        self._base_env = dict(env)
        imported = []
        for module in warm:
            # A module that cannot be imported now fails again, loudly, when it is invoked.
            try:
                importlib.import_module(module)
            except Exception:  # noqa: S112 - see above
                continue
            imported.append(module)
        return ("ok", imported)

    def _handler(self, dotted: str) -> Callable[..., Any]:
        handler = self._handlers.get(dotted)
        if handler is None:
            module_name, _, attribute = dotted.rpartition(".")
            module = importlib.import_module(module_name)
            handler = getattr(module, attribute)
            if not callable(handler):
                raise TypeError(f"{dotted} is not callable")
            self._handlers[dotted] = handler
        return handler

    def _invoke(self, request: dict[str, Any]) -> tuple[Any, ...]:
        from local.apigw import LambdaContext

        # Each Lambda function has its own environment; this worker serves many. Undo what the previous
        # invocation set that this one does not (another function's table names), then set this one's.
        for key in self._invocation_env - set(request["env"]):
            if key in self._base_env:
                os.environ[key] = self._base_env[key]
            else:
                os.environ.pop(key, None)
        self._invocation_env = set(request["env"])
        os.environ.update(request["env"])
        try:
            handler = self._handler(request["handler"])
        except Exception as exc:
            message = f"Unable to import module '{request['handler'].rpartition('.')[0]}': {exc}"
            return ("error", _error("Runtime.ImportModuleError", message, traceback.format_exc().splitlines(True)))
        context = LambdaContext(request["function_name"], request["memory_mb"], request["timeout_s"])
        with captured_output() as logs:
            reply = self._run(handler, request["event"], context)
        return (*reply, logs)

    @staticmethod
    def _run(handler: Callable[..., Any], event: str, context: Any) -> tuple[str, Any]:
        try:
            result = handler(json.loads(event), context)
        except SystemExit as exc:
            return ("error", _error("Runtime.ExitError", f"the handler called exit({exc.code})"))
        except Exception as exc:
            return ("error", _error(type(exc).__name__, str(exc), traceback.format_exc().splitlines(True)))
        try:
            return ("ok", json.dumps(result))
        except (TypeError, ValueError) as exc:
            return ("error", _error("Runtime.MarshalError", f"the result is not JSON: {exc}"))

    def _call(self, target: str, args: tuple[Any, ...]) -> tuple[str, Any]:
        module_name, _, attribute = target.partition(":")
        try:
            function = getattr(importlib.import_module(module_name), attribute)
            return ("ok", function(*args))
        except Exception as exc:
            return ("error", _error(type(exc).__name__, str(exc), traceback.format_exc().splitlines(True)))


def _worker_main(conn: Connection) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _Runtime(conn).loop()


# --- the platform's side -------------------------------------------------------------------------------------------


@dataclass
class _Worker:
    process: Any  # multiprocessing's Process type for the forkserver context is not exported
    conn: Connection
    warm: set[str] = field(default_factory=set)

    @property
    def pid(self) -> int | None:
        pid: int | None = self.process.pid
        return pid

    def exchange(self, message: tuple[Any, ...], timeout_s: float) -> tuple[Any, ...]:
        """Send ``message`` and wait for the reply: ``("ok" | "error", detail, ...)`` (an invocation adds its log
        lines), or ``(TIMED_OUT | DIED, None)``."""
        try:
            self.conn.send(message)
            if not self.conn.poll(timeout_s):
                return (TIMED_OUT, None)
            reply: tuple[Any, ...] = self.conn.recv()
            return reply
        except (EOFError, OSError):
            return (DIED, None)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class WorkerPool:
    """A fixed number of worker processes; :meth:`invoke` runs on the first free one (waiting if all are busy)."""

    def __init__(self, size: int, preload: Sequence[str] = DEFAULT_PRELOAD) -> None:
        if size < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.size = size
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(list(preload))
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._env: dict[str, str] = {}
        self._closed = False

    def start(self) -> None:
        """Start the fork server (if this process has none yet) and the workers. Call it from the main thread:
        signal masks are per thread. The fork server is a fresh interpreter, so threads already running here do not
        matter, unlike with ``fork``."""
        # SIGINT is blocked, not ignored, while the fork server starts: the mask is inherited, so a Ctrl-C cannot
        # interrupt its start-up (it ignores SIGINT itself afterwards, and so do the workers it forks), and a Ctrl-C
        # meant for us stays pending and is delivered when the mask is restored instead of being lost.
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            for _ in range(self.size):
                self._workers.append(self._spawn())
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(target=_worker_main, args=(child,), name="lambda-worker", daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def configure(self, env: Mapping[str, str], warm: Sequence[str] = (), timeout_s: float = 60.0) -> None:
        """Give every worker its environment and import ``warm`` modules in all of them at once."""
        self._env = dict(env)
        for worker in self._workers:
            worker.conn.send(("configure", self._env, list(warm)))
        for worker in self._workers:
            if not worker.conn.poll(timeout_s):
                raise RuntimeError("a worker did not finish its start-up in time")
            status, detail = worker.conn.recv()
            if status != "ok":
                raise RuntimeError(f"a worker failed to start: {detail}")
            worker.warm.update(detail)
            self._idle.put(worker)

    @property
    def pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in self._workers if w.pid is not None]

    def _acquire(self) -> _Worker:
        while True:
            if self._closed:
                raise PoolClosed("the worker pool is closed")
            try:
                return self._idle.get(timeout=0.2)
            except queue.Empty:
                continue

    def _release(self, worker: _Worker) -> None:
        if self._closed:
            return
        self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
        if self._closed:
            return
        fresh = self._spawn()
        status = fresh.exchange(("configure", self._env, []), INIT_ALLOWANCE_S * 3)[0]
        if status != "ok":
            fresh.kill()
            raise RuntimeError("could not start a replacement worker")
        with self._lock:
            self._workers.append(fresh)
        self._release(fresh)

    def invoke(
        self,
        handler: str,
        event: dict[str, Any],
        *,
        function_name: str,
        timeout_s: float = 10.0,
        memory_mb: int = 512,
        env: Mapping[str, str] | None = None,
    ) -> Invocation:
        """Run ``handler`` (dotted path) with ``event`` in a free worker, as one Lambda invocation."""
        worker = self._acquire()
        module = handler.rpartition(".")[0]
        allowance = 0.0 if module in worker.warm else INIT_ALLOWANCE_S
        request = {
            "handler": handler,
            "function_name": function_name,
            "timeout_s": timeout_s,
            "memory_mb": memory_mb,
            "env": dict(env or {}),
            "event": json.dumps(event),
        }
        started = time.monotonic()
        reply = worker.exchange(("invoke", request), timeout_s + allowance)
        status, detail = reply[0], reply[1]
        logs: list[str] = list(reply[2]) if len(reply) > 2 else []
        elapsed = (time.monotonic() - started) * 1000
        if status == TIMED_OUT:
            self._replace(worker)
            return Invocation(error=_error("Sandbox.Timedout", f"Task timed out after {timeout_s:.2f} seconds"))
        if status == DIED:
            self._replace(worker)
            return Invocation(error=_error("Runtime.ExitError", "the worker process exited during the invocation"))
        worker.warm.add(module)
        self._release(worker)
        if status == "ok":
            return Invocation(payload=json.loads(detail), duration_ms=elapsed, logs=logs)
        return Invocation(error=detail, duration_ms=elapsed, logs=logs)

    def call(self, target: str, *args: Any, timeout_s: float = 60.0) -> Any:
        """Run ``module:function(*args)`` in a worker (for work that must import handler code, such as OpenAPI)."""
        worker = self._acquire()
        status, detail = worker.exchange(("call", target, args), timeout_s)[:2]
        if status in (TIMED_OUT, DIED):
            self._replace(worker)
            raise RuntimeError(f"{target} did not complete in a worker ({status})")
        self._release(worker)
        if status != "ok":
            raise RuntimeError(Invocation(error=detail).error_text())
        return detail

    def close(self, timeout_s: float = 5.0) -> None:
        self._closed = True
        with self._lock:
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            with contextlib.suppress(EOFError, OSError):
                worker.conn.send(("stop",))
        deadline = time.monotonic() + timeout_s
        for worker in workers:
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
            worker.conn.close()
