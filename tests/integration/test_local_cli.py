"""``python -m local`` as a developer runs it: clear failures with a non-zero status, and a clean stop (status 0,
no traceback, moto gone) on SIGTERM, or on Ctrl-C at any point of the start-up."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[bytes], Path]:
    output = tmp_path / "output.log"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    base.update({"PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "LOCAL_WORKERS": "1", **env})
    with output.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "local"], cwd=REPO, env=base, stdout=sink, stderr=sink)
    return process, output


def wait_for(process: subprocess.Popen[bytes], url: str, status: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == status:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    pytest.fail(f"/health never answered {status}")


def moto_port(log: str) -> int:
    found = re.search(r"AWS \(moto\) http://127\.0\.0\.1:(\d+)", log)
    assert found, log
    return int(found.group(1))


def test_a_taken_port_exits_1_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process, output = start(tmp_path, PORT=str(port))
        assert process.wait(timeout=60) == 1
    log = output.read_text()
    assert f"cannot listen on 127.0.0.1:{port}" in log
    assert "Traceback" not in log


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("LOCAL_WORKERS", "many", "LOCAL_WORKERS must be an integer"),
        ("CARRIER_SANDBOX_PORT", "any", "CARRIER_SANDBOX_PORT must be an integer"),
        ("LOCAL_SCHEDULES", "AllocateWaitingOrder=2", "LOCAL_SCHEDULES names no schedule of the platform"),
    ],
)
def test_bad_settings_exit_2(tmp_path: Path, setting: str, value: str, message: str) -> None:
    process, output = start(tmp_path, **{setting: value})
    assert process.wait(timeout=60) == 2
    log = output.read_text()
    assert message in log
    assert "Traceback" not in log


def test_sigterm_stops_everything_cleanly(tmp_path: Path) -> None:
    port = free_port()
    process, output = start(tmp_path, PORT=str(port), LOCAL_SEED="0")
    try:
        wait_for(process, f"http://127.0.0.1:{port}", 200)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    log = output.read_text()
    assert code == 0, log
    assert "Traceback" not in log
    assert "ready" in log and "Stopped." in log
    for closed in (port, moto_port(log)):
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", closed), timeout=1):
            pass


def test_ctrl_c_during_start_up_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    process, output = start(tmp_path, PORT=str(port))
    try:
        wait_for(process, f"http://127.0.0.1:{port}", 503)  # still starting (seeding, at the latest)
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
    log = output.read_text()
    assert code == 0, log
    assert "Traceback" not in log
    assert "Stopped." in log


def children_of(pid: int) -> list[tuple[int, str]]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append((int(stat.parent.name), cmdline))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the moto process through /proc")
def test_the_platform_exits_1_when_moto_dies(tmp_path: Path) -> None:
    port = free_port()
    process, output = start(tmp_path, PORT=str(port), LOCAL_SEED="0")
    try:
        wait_for(process, f"http://127.0.0.1:{port}", 200)
        moto = [pid for pid, cmd in children_of(process.pid) if "local.moto_server" in cmd]
        assert len(moto) == 1
        os.kill(moto[0], signal.SIGKILL)
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = output.read_text()
    assert code == 1, log
    assert "the moto server stopped unexpectedly" in log
    assert "Traceback" not in log
