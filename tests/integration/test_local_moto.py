"""The local AWS (local.moto_server): one request at a time, so conditional writes are atomic; transactions are
all-or-nothing, stream included, with the item-level rollback; clear failures when it cannot start."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.moto_server import MotoServer, MotoStartError, SerialisedApp
from local.runner import EndpointSession


class _Overlap:
    """A WSGI app that notices when two requests are inside it at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        time.sleep(0.02)
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body() -> Iterator[bytes]:
            time.sleep(0.02)  # lazy work while the server iterates the body must be serialised too
            yield b"done"
            with self._lock:
                self.inside -= 1

        return body()


def test_the_serialised_app_lets_one_request_in_at_a_time() -> None:
    inner = _Overlap()
    app = SerialisedApp(inner)

    def one(_: int) -> bytes:
        return b"".join(app({}, lambda status, headers: None))

    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(one, range(24)))
    assert bodies == [b"done"] * 24
    assert inner.most == 1


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = MotoServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def ddb(moto: MotoServer) -> Any:
    return EndpointSession(moto.endpoint).client("dynamodb")


@pytest.fixture
def table(ddb: Any, request: pytest.FixtureRequest) -> str:
    name = f"t-{request.node.name}"[:200]
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    return name


def _item(ddb: Any, table: str, pk: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = ddb.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "X"}}).get("Item")
    return item


def _stream_events(moto: MotoServer, table: str) -> list[str]:
    streams = EndpointSession(moto.endpoint).client("dynamodbstreams")
    arn = streams.list_streams(TableName=table)["Streams"][0]["StreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return [f"{r['eventName']} {r['dynamodb']['Keys']['pk']['S']}" for r in records]


def test_concurrent_conditional_writes_never_oversell(ddb: Any, table: str) -> None:
    key = {"pk": {"S": "SKU#1"}, "sk": {"S": "X"}}
    ddb.put_item(TableName=table, Item={**key, "stock": {"N": "5"}})

    def take(_: int) -> bool:
        try:
            ddb.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET stock = stock - :one",
                ConditionExpression="stock >= :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
            return True
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
            return False

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(take, range(30)))
    assert outcomes.count(True) == 5
    assert ddb.get_item(TableName=table, Key=key)["Item"]["stock"] == {"N": "0"}


def test_a_cancelled_transaction_leaves_items_and_stream_as_they_were(moto: MotoServer, ddb: Any, table: str) -> None:
    ddb.put_item(TableName=table, Item={"pk": {"S": "A"}, "sk": {"S": "X"}, "v": {"N": "1"}})
    with pytest.raises(ClientError) as caught:
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": "A"}, "sk": {"S": "X"}},
                        "UpdateExpression": "SET v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {"Put": {"TableName": table, "Item": {"pk": {"S": "B"}, "sk": {"S": "X"}}}},
                {"Delete": {"TableName": table, "Key": {"pk": {"S": "A0"}, "sk": {"S": "X"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "C"}, "sk": {"S": "X"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    assert caught.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _item(ddb, table, "A") == {"pk": {"S": "A"}, "sk": {"S": "X"}, "v": {"N": "1"}}
    assert _item(ddb, table, "B") is None
    assert _stream_events(moto, table) == ["INSERT A"]


def test_a_transaction_failing_validation_midway_is_undone(moto: MotoServer, ddb: Any, table: str) -> None:
    ddb.put_item(TableName=table, Item={"pk": {"S": "A"}, "sk": {"S": "X"}, "v": {"N": "1"}, "name": {"S": "a"}})
    with pytest.raises(ClientError):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "B"}, "sk": {"S": "X"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": "A"}, "sk": {"S": "X"}},
                        "UpdateExpression": "SET v = :two ADD #n :one",  # ADD to a string: rejected
                        "ExpressionAttributeNames": {"#n": "name"},
                        "ExpressionAttributeValues": {":two": {"N": "2"}, ":one": {"N": "1"}},
                    }
                },
            ]
        )
    assert _item(ddb, table, "A") == {"pk": {"S": "A"}, "sk": {"S": "X"}, "v": {"N": "1"}, "name": {"S": "a"}}
    assert _item(ddb, table, "B") is None
    assert _stream_events(moto, table) == ["INSERT A"]


def test_a_successful_transaction_writes_everything(moto: MotoServer, ddb: Any, table: str) -> None:
    ddb.put_item(TableName=table, Item={"pk": {"S": "A"}, "sk": {"S": "X"}})
    ddb.transact_write_items(
        TransactItems=[
            {"Delete": {"TableName": table, "Key": {"pk": {"S": "A"}, "sk": {"S": "X"}}}},
            {
                "Put": {
                    "TableName": table,
                    "Item": {"pk": {"S": "B"}, "sk": {"S": "X"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
    )
    assert _item(ddb, table, "A") is None
    assert _item(ddb, table, "B") is not None
    assert _stream_events(moto, table) == ["INSERT A", "REMOVE A", "INSERT B"]


def test_a_taken_port_is_a_clear_start_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = MotoServer(port)
        with pytest.raises(MotoStartError, match=f"cannot listen on 127.0.0.1:{port}"):
            server.start()
        server.stop()


def test_stopping_closes_the_server() -> None:
    server = MotoServer()
    endpoint = server.start()
    port = server.port
    assert server.alive()
    server.stop()
    assert not server.alive()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    assert endpoint.endswith(f":{port}")
