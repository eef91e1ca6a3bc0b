"""Log subscriptions on the local platform, with a small platform of its own: a route writes log lines (some with
the subscribed key, through print and through a Powertools logger), and the subscription's function, invoked in the
background with a CloudWatch Logs event, records what it received in a ledger table the test reads back."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import requests
from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent

from functions.shared.wiring import ContextManifest, LogSubscription, Platform, Route, Table, writes
from local.runner import LocalPlatform, Settings

HERE = __name__
LEDGER = Table(name="ledger")


def shout(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from aws_lambda_powertools import Logger

    n = (event.get("queryStringParameters") or {}).get("n", "0")
    print("plain text, not JSON")
    print(json.dumps({"other": n}))
    Logger(service="test-feed", level="INFO").info("fed", extra={"feed": {"n": n}})
    print(json.dumps({"feed": {"n": n, "via": "stderr"}}), file=sys.stderr)
    return {"statusCode": 200, "body": json.dumps({"n": n})}


def record(event: dict[str, Any], context: Any) -> None:
    data = CloudWatchLogsEvent(event).parse_logs_data()
    ddb = boto3.client("dynamodb")
    for e in data.log_events:
        ddb.put_item(
            TableName=os.environ["LEDGER_TABLE_NAME"],
            Item={
                "pk": {"S": "LINE"},
                "sk": {"S": e.get_id},
                "message": {"S": e.message},
                "group": {"S": data.log_group},
                "filters": {"S": ",".join(data.subscription_filters)},
            },
        )


ROUTE = Route(name="Shout", handler=f"{HERE}.shout", path="/shout")
PLATFORM = Platform(
    contexts=(
        ContextManifest(
            name="logged",
            tables=(LEDGER,),
            routes=(ROUTE,),
            log_subscriptions=(
                LogSubscription(
                    name="Listen",
                    handler=f"{HERE}.record",
                    sources=("Shout",),
                    keys=("feed",),
                    uses=(writes(LEDGER.ref),),
                ),
            ),
        ),
    )
)


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    settings = Settings(port=0, workers=2, seed=False, prefix="logs", poll_s=0.1)
    with LocalPlatform(PLATFORM, settings) as running:
        yield running


def eventually(check: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_subscribed_json_lines_reach_the_subscription_in_cloudwatch_format(platform: LocalPlatform) -> None:
    response = requests.get(f"{platform.url}/shout", params={"n": "7"}, timeout=10)
    assert response.status_code == 200 and response.json() == {"n": "7"}
    assert platform.session is not None
    ddb = platform.session.client("dynamodb")
    table = platform.created.env["LEDGER_TABLE_NAME"]

    def lines() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = ddb.scan(TableName=table)["Items"]
        return items if len(items) >= 2 else []

    items = eventually(lines)
    messages = [json.loads(i["message"]["S"]) for i in items]
    assert sorted(m["feed"].get("via", "logger") for m in messages) == ["logger", "stderr"]
    assert all(m["feed"]["n"] == "7" for m in messages)
    assert {i["group"]["S"] for i in items} == {"/aws/lambda/Shout"}
    assert {i["filters"]["S"] for i in items} == {"Listen-Shout"}


def test_a_log_subscription_must_read_functions_of_its_own_context() -> None:
    stray = LogSubscription(name="Stray", handler=f"{HERE}.record", sources=("Nobody",), keys=("feed",))
    with pytest.raises(ValueError, match="reads the logs of Nobody"):
        Platform(contexts=(ContextManifest(name="x", routes=(ROUTE,), log_subscriptions=(stray,)),)).validate()
