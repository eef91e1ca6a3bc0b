"""Passwords and tokens never reach a log record, even with every logger at DEBUG and a failing AWS call logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.shared.aws import client
from functions.shared.http import logger as http_logger

PASSWORD = "Sunny-Day-42"


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    previous = http_logger.log_level
    caplog.set_level(logging.DEBUG)
    http_logger.setLevel(logging.DEBUG)
    yield caplog
    http_logger.setLevel(previous)


def test_no_password_or_token_is_ever_logged(
    api: Any, everything_logged: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    idp = client("cognito-idp")
    real_confirm = idp.admin_confirm_sign_up
    failures = [ClientError({"Error": {"Code": "InternalErrorException", "Message": "boom"}}, "AdminConfirmSignUp")]

    def flaky_confirm(**kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return real_confirm(**kwargs)

    monkeypatch.setattr(idp, "admin_confirm_sign_up", flaky_confirm)
    body = {"email": "ann@example.com", "password": PASSWORD}

    assert api("POST", "/auth/signup", body).status == 500  # logged with its traceback
    assert api("POST", "/auth/signup", body).status == 201
    assert api("POST", "/auth/login", {"email": "ann@example.com", "password": "Wrong-Pass-77"}).status == 401
    tokens = api("POST", "/auth/login", body).body
    refreshed = api("POST", "/auth/refresh", {"refresh_token": tokens["refresh_token"]}).body
    assert api("POST", "/auth/signup", {"email": "bad", "password": "Weak-but-logged?9" + "x" * 300}).status == 422

    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in everything_logged.records)
    assert everything_logged.records, "nothing was logged, so this test would prove nothing"
    secrets = [PASSWORD, "Wrong-Pass-77", "Weak-but-logged?9", tokens["refresh_token"]]
    secrets += [tokens["id_token"], tokens["access_token"], refreshed["id_token"], refreshed["access_token"]]
    assert [s[:24] for s in secrets if s in logged] == []
