"""The limit and the one default hold when a user's address book changes from many threads at once, against the
serialised moto server the local platform uses (in-process moto is not atomic across threads, DESIGN.md §8).

Threads drive :class:`functions.accounts.addresses.service.AddressBookService` directly, never the handler
modules, whose Powertools resolvers keep per-request state in module globals. A call that gives up after its
retries (409 TRY_AGAIN) is what a client would retry; the test retries it.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from functions.accounts.addresses.model import MAX_ADDRESSES, AddressInput, AddressUpdate
from functions.accounts.addresses.service import AddressBookService, service
from functions.manifest import PLATFORM
from functions.shared import aws as shared_aws
from functions.shared.aws import client
from functions.shared.errors import AppError
from local.moto_server import MotoServer
from local.resources import Created, create_all

THREADS = 12


@pytest.fixture(scope="module")
def local_aws() -> Iterator[Created]:
    server = MotoServer()
    endpoint = server.start()
    saved = {"AWS_ENDPOINT_URL": os.environ.get("AWS_ENDPOINT_URL")}
    try:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        shared_aws.reset()
        created = create_all(PLATFORM, prefix=f"addrconc-{uuid.uuid4().hex[:6]}")
        saved.update({k: os.environ.get(k) for k in created.env})
        os.environ.update(created.env)
        service()  # create the shared boto3 client here, not racing in many threads
        yield created
    finally:
        client("dynamodb").close()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shared_aws.reset()
        server.stop()


@pytest.fixture
def svc(local_aws: Created) -> Callable[[], AddressBookService]:
    return lambda: AddressBookService(service().repo)


def body(n: int, is_default: bool = False) -> AddressInput:
    return AddressInput(
        recipient=f"Shopper {n}",
        phone="+8613812345678",
        region="Shanghai",
        city="Shanghai",
        street=f"{n} Century Avenue",
        postcode="200120",
        is_default=is_default,
    )


def outcome(call: Callable[[], object]) -> str:
    for _ in range(5):
        try:
            call()
        except AppError as exc:
            if exc.code != "TRY_AGAIN":
                return exc.code
            continue
        return "ok"
    return "TRY_AGAIN"


def test_concurrent_creates_never_pass_the_limit_and_leave_one_default(svc: Callable[[], AddressBookService]) -> None:
    user = f"user-{uuid.uuid4().hex}"
    attempts = MAX_ADDRESSES + 10
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(
            pool.map(lambda n: outcome(lambda: svc().create(user, body(n, n % 3 == 0), None)), range(attempts))
        )
    counts = Counter(results)
    assert counts == {"ok": MAX_ADDRESSES, "ADDRESS_LIMIT_REACHED": attempts - MAX_ADDRESSES}, counts
    book, addresses = svc().repo.book(user)
    assert len(addresses) == MAX_ADDRESSES == book.count
    default = [a.address_id for a in addresses if a.is_default]
    assert default == [book.default_id]


def test_concurrent_default_changes_leave_exactly_one(svc: Callable[[], AddressBookService]) -> None:
    user = f"user-{uuid.uuid4().hex}"
    made = [svc().create(user, body(n), None)[0] for n in range(6)]

    def make_default(n: int) -> str:
        def call() -> None:
            current = next(a for a in svc().addresses(user).items if a.address_id == made[n].address_id)
            fields = current.model_dump(include={"recipient", "phone", "region", "city", "district", "street"})
            update = AddressUpdate(
                **fields, postcode=current.postcode, country=current.country, is_default=True, version=current.version
            )
            svc().update(user, current.address_id, update)

        for _ in range(10):  # a VERSION_CONFLICT here means another thread demoted it: read it again
            result = outcome(call)
            if result != "VERSION_CONFLICT":
                return result
        return "VERSION_CONFLICT"

    def delete(n: int) -> str:
        return outcome(lambda: svc().delete(user, made[n].address_id))

    with ThreadPoolExecutor(THREADS) as pool:
        jobs = [pool.submit(make_default, n) for n in range(1, 5)] + [pool.submit(delete, n) for n in (0, 5)]
        results = [j.result() for j in jobs]
    assert set(results) <= {"ok", "ADDRESS_NOT_FOUND"}, results
    book, addresses = svc().repo.book(user)
    assert len(addresses) == 4 == book.count
    assert [a.address_id for a in addresses if a.is_default] == [book.default_id]
