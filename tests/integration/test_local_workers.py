"""The handler worker pool behaves like Lambda execution environments: warm reuse, one invocation at a time per
worker, Lambda's error shapes, replacement after a timeout or a crash, and an environment of its own.

The handlers below run in the worker processes (imported there by their dotted path).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.workers import Invocation, WorkerPool

HERE = __name__
_calls: list[str] = []  # module state: survives between invocations only in a warm worker


def counter(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _calls.append(context.aws_request_id)
    return {
        "pid": os.getpid(),
        "count": len(_calls),
        "event": event,
        "function": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "aws_env": sorted(k for k in os.environ if k.startswith("AWS_")),
        "colour": os.environ.get("COLOUR"),
    }


def boom(event: dict[str, Any], context: Any) -> None:
    raise ValueError("nope")


def sleepy(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(float(event["seconds"]))
    return {"pid": os.getpid()}


def die(event: dict[str, Any], context: Any) -> None:
    os._exit(3)


def unserialisable(event: dict[str, Any], context: Any) -> object:
    return {"when": object()}


def exclusive(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fails to claim its marker if another invocation is running in this same process."""
    marker = Path(os.environ["MARKER_DIR"]) / f"{os.getpid()}.busy"
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return {"overlap": True, "pid": os.getpid()}
    try:
        time.sleep(0.2)
    finally:
        os.close(fd)
        marker.unlink()
    return {"overlap": False, "pid": os.getpid()}


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    workers = WorkerPool(1)
    workers.start()
    workers.configure({"AWS_REGION": "eu-west-1", "COLOUR": "blue"})
    try:
        yield workers
    finally:
        workers.close()


def invoke(pool: WorkerPool, name: str, event: dict[str, Any] | None = None, **kwargs: Any) -> Invocation:
    return pool.invoke(f"{HERE}.{name}", event or {}, function_name=name.title(), **kwargs)


def test_a_worker_stays_warm_between_invocations(pool: WorkerPool) -> None:
    first = invoke(pool, "counter", {"n": 1})
    second = invoke(pool, "counter", {"n": 2})
    assert first.ok and second.ok
    assert first.payload["pid"] == second.payload["pid"]
    assert [first.payload["count"], second.payload["count"]] == [1, 2]
    assert second.payload["event"] == {"n": 2}
    assert second.payload["function"] == "Counter"
    assert 0 < second.payload["remaining_ms"] <= 10_000


def test_the_function_environment_replaces_the_platform_aws_settings(pool: WorkerPool) -> None:
    # tests/conftest.py put dummy AWS credentials into this process's environment, which the workers inherit;
    # the platform's configuration, not the parent's shell, decides what a function sees.
    assert "AWS_ACCESS_KEY_ID" in os.environ
    result = invoke(pool, "counter", env={"AWS_LAMBDA_FUNCTION_NAME": "Counter"})
    assert result.payload["aws_env"] == ["AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION"]
    assert result.payload["colour"] == "blue"


def test_one_functions_variables_do_not_leak_into_the_next_invocation(pool: WorkerPool) -> None:
    # Workers serve many functions; in AWS each function has only its own variables (its granted resources).
    pids = set()
    for _ in range(4):  # enough to reach the same worker twice whatever the pool size
        first = invoke(pool, "counter", env={"AWS_LAMBDA_FUNCTION_NAME": "A", "COLOUR": "red"})
        second = invoke(pool, "counter", env={"AWS_LAMBDA_FUNCTION_NAME": "B"})
        assert first.payload["colour"] == "red"
        assert second.payload["colour"] == "blue"  # the platform-wide value again, not A's
        pids |= {first.payload["pid"], second.payload["pid"]}
    assert pids


def test_a_raising_handler_is_reported_like_lambda_and_the_worker_survives(pool: WorkerPool) -> None:
    before = invoke(pool, "counter").payload["pid"]
    failed = invoke(pool, "boom")
    assert not failed.ok
    assert failed.error is not None
    assert failed.error["errorType"] == "ValueError"
    assert failed.error["errorMessage"] == "nope"
    assert any("raise ValueError" in line for line in failed.error["stackTrace"])
    assert "ValueError: nope" in failed.error_text()
    assert invoke(pool, "counter").payload["pid"] == before


def test_a_result_that_is_not_json_is_a_marshal_error(pool: WorkerPool) -> None:
    result = invoke(pool, "unserialisable")
    assert result.error is not None and result.error["errorType"] == "Runtime.MarshalError"


def test_a_missing_handler_module_is_an_import_error(pool: WorkerPool) -> None:
    result = pool.invoke("tests_nowhere.module.handler", {}, function_name="Missing")
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.ImportModuleError"
    assert "tests_nowhere.module" in result.error["errorMessage"]


def test_a_timed_out_invocation_kills_the_worker_and_a_fresh_one_takes_over(pool: WorkerPool) -> None:
    before = invoke(pool, "counter").payload["pid"]
    result = invoke(pool, "sleepy", {"seconds": 30}, timeout_s=0.5)
    assert result.error is not None and result.error["errorType"] == "Sandbox.Timedout"
    after = invoke(pool, "counter")
    assert after.ok
    assert after.payload["pid"] != before
    assert after.payload["count"] == 1  # a cold start: the module state is new
    assert after.payload["colour"] == "blue"  # the replacement got the platform's environment


def test_a_worker_that_exits_is_replaced(pool: WorkerPool) -> None:
    before = invoke(pool, "counter").payload["pid"]
    result = invoke(pool, "die")
    assert result.error is not None and result.error["errorType"] == "Runtime.ExitError"
    after = invoke(pool, "counter")
    assert after.ok and after.payload["pid"] != before


def test_workers_ignore_ctrl_c_from_the_terminal(pool: WorkerPool) -> None:
    pid = invoke(pool, "counter").payload["pid"]
    os.kill(pid, signal.SIGINT)
    again = invoke(pool, "counter")
    assert again.ok and again.payload["pid"] == pid


def test_a_worker_runs_one_invocation_at_a_time(tmp_path: Path) -> None:
    workers = WorkerPool(2)
    workers.start()
    workers.configure({})
    results: list[Invocation] = []
    lock = threading.Lock()

    def call() -> None:
        outcome = workers.invoke(f"{HERE}.exclusive", {}, function_name="Exclusive", env={"MARKER_DIR": str(tmp_path)})
        with lock:
            results.append(outcome)

    try:
        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        workers.close()
    assert len(results) == 8 and all(r.ok for r in results)
    assert not any(r.payload["overlap"] for r in results)
    assert len({r.payload["pid"] for r in results}) == 2  # both workers took part


def test_closing_the_pool_ends_its_processes() -> None:
    workers = WorkerPool(2)
    workers.start()
    workers.configure({})
    pids = workers.pids
    workers.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
