"""The end-to-end harness: ``python -m local`` as a subprocess, driven over real HTTP.

One platform per test session (start-up seeds the demo catalogue, its warehouses and stock, a coupon and a flash
sale), on free loopback ports, with two workers, a payment window of ``PAYMENT_WINDOW_S`` seconds, so that a test can
watch an unpaid order expire, and the AllocateWaitingOrders schedule every ``ALLOCATE_WAITING_S`` seconds instead of
every five minutes, so that a test can watch a backordered order get its stock. The payment and carrier sandboxes
keep their keys in the session's temporary directory. The platform's output goes to a file: if it does not become
healthy, the test fails with that output; after the last end-to-end test it is stopped with SIGINT, as a developer's
Ctrl-C would, and must exit cleanly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.e2e.support import ADMIN, SHOPPER, Client, free_port, log_in

REPO = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
START_TIMEOUT_S = 120.0  # start-up seeds the catalogue, warehouses and stock through the API; the machine may be busy
STOP_TIMEOUT_S = 15.0
# Short, so an expiry can be watched; long enough that a test which checks out and then cancels at once is not
# overtaken by the timer on a busy machine.
PAYMENT_WINDOW_S = 10
ALLOCATE_WAITING_S = 2


@dataclass
class RunningPlatform:
    url: str
    process: subprocess.Popen[bytes]
    output: Path
    sandbox_url: str = ""  # the local payment providers (local.payment_sandbox)
    payment_keys: Path | None = None  # the payment sandbox's keys file
    carrier_url: str = ""  # the local carriers (local.carrier_sandbox)
    carrier_secrets: Path | None = None  # the carrier sandbox's secrets file

    def log(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")


def platform_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env.update(PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1", **overrides)
    return env


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    port, moto_port, sandbox_port, carrier_port = free_port(), free_port(), free_port(), free_port()
    output = tmp_path_factory.mktemp("platform") / "output.log"
    keys, secrets = output.parent / "payment-sandbox.json", output.parent / "carrier-sandbox.json"
    env = platform_env(
        PORT=str(port),
        MOTO_PORT=str(moto_port),
        PAYMENT_SANDBOX_PORT=str(sandbox_port),
        PAYMENT_SANDBOX_KEYS_FILE=str(keys),
        CARRIER_SANDBOX_PORT=str(carrier_port),
        CARRIER_SANDBOX_SECRETS_FILE=str(secrets),
        LOCAL_WORKERS="2",
        PAYMENT_WINDOW_SECONDS=str(PAYMENT_WINDOW_S),
        LOCAL_SCHEDULES=f"AllocateWaitingOrders={ALLOCATE_WAITING_S}",
    )
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "local"], cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    running = RunningPlatform(
        f"http://127.0.0.1:{port}",
        process,
        output,
        sandbox_url=f"http://127.0.0.1:{sandbox_port}",
        payment_keys=keys,
        carrier_url=f"http://127.0.0.1:{carrier_port}",
        carrier_secrets=secrets,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"the platform exited with {process.returncode} during start-up:\n{running.log()}")
            try:
                if requests.get(f"{running.url}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the platform was not healthy within {START_TIMEOUT_S:.0f} s:\n{running.log()}")
            time.sleep(0.2)
        _running.append((running, moto_port))
        yield running
    finally:
        _running.clear()
        stop(running, moto_port)


def stop(running: RunningPlatform, moto_port: int) -> None:
    """SIGINT, as a developer's Ctrl-C: the platform must stop within ``STOP_TIMEOUT_S``, exit 0 and take moto with
    it."""
    process = running.process
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        code = process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"the platform did not stop within {STOP_TIMEOUT_S:.0f} s of SIGINT:\n{running.log()}")
    log = running.log()
    assert code == 0, f"the platform exited with {code} after SIGINT:\n{log}"
    shutdown = log.partition("Stopping the local platform")[2]
    assert shutdown, f"the platform did not report its shutdown:\n{log}"
    assert "Traceback" not in shutdown, log
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", moto_port), timeout=1):
        pass  # moto stopped with it


# The platform is stopped as soon as the session's last end-to-end test is over, not at the end of the session: an
# idle platform still polls its ~50 queues and streams twice a second, which a 2-core machine running the rest of
# the suite feels. ``make test`` keeps every end-to-end test on one xdist worker (``--dist loadgroup``) so that the
# worker knows when its last one has run; without it the platform stops at the end of the session, as before.
_running: list[tuple[RunningPlatform, int]] = []
_e2e_left = [0]


def _is_e2e(item: pytest.Item) -> bool:
    return Path(item.path).is_relative_to(E2E_DIR)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _is_e2e(item):
            item.add_marker(pytest.mark.xdist_group("e2e"))


def pytest_collection_finish(session: pytest.Session) -> None:
    _e2e_left[0] = sum(1 for item in session.items if _is_e2e(item))


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if not _is_e2e(item):
        return
    _e2e_left[0] -= 1
    if _e2e_left[0] == 0 and _running:
        stop(*_running[0])


@pytest.fixture(scope="session")
def payment_window_s(platform: RunningPlatform) -> int:
    """The payment window (seconds) the session's platform was started with."""
    return PAYMENT_WINDOW_S


@pytest.fixture(scope="session")
def url(platform: RunningPlatform) -> str:
    return platform.url


@pytest.fixture(scope="session")
def anonymous(url: str) -> Client:
    return Client(url)


@pytest.fixture(scope="session")
def admin(url: str) -> Client:
    return Client(url, log_in(url, *ADMIN)["id_token"])


@pytest.fixture(scope="session")
def shopper(url: str) -> Client:
    return Client(url, log_in(url, *SHOPPER)["id_token"])


@pytest.fixture
def unique() -> Callable[[str], str]:
    """A name no other test run of this session uses."""
    stamp = f"{time.time_ns():x}"

    def make(prefix: str) -> str:
        return f"{prefix}-{stamp}"

    return make
