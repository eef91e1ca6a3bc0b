"""Saved addresses: the decisions (limit, default, versions, idempotency) and the composition root
:func:`service`. Every change reads the user's book, decides, and commits one transaction conditioned on the
book's version; when another change of the same book won the race, it reads again and decides again."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from functions.accounts.addresses.model import (
    MAX_ADDRESSES,
    Address,
    AddressInput,
    AddressList,
    AddressUpdate,
    Book,
    default_on_create,
    ordered,
    successor,
)
from functions.accounts.addresses.repository import DynamoAddressRepository
from functions.accounts.events import AddressDeleted, AddressSaved, SavedAddressDetails
from functions.shared.auth import AuthContext
from functions.shared.errors import Conflict, NotFound, Unauthorized, Unprocessable
from functions.shared.events import DomainEvent
from functions.shared.idempotency import check_key, request_hash
from functions.shared.ids import prefixed

ATTEMPTS = 8
_FIELDS = ("recipient", "phone", "region", "city", "district", "street", "postcode", "country")


def now() -> datetime:
    return datetime.now(UTC)


def _backoff(attempt: int) -> None:
    if attempt:
        time.sleep(min(0.2, 0.005 * 2**attempt))


def user_id_of(auth: AuthContext) -> str:
    if auth.user_id is None:
        raise Unauthorized("sign in to call this route")
    return auth.user_id


def _saved(user_id: str, address: Address) -> AddressSaved:
    details = SavedAddressDetails.model_validate(address.model_dump(exclude={"created_at"}))
    return AddressSaved(user_id=user_id, address=details)


def _not_found() -> NotFound:
    return NotFound("no such address", code="ADDRESS_NOT_FOUND")


class AddressBookService:
    def __init__(self, repo: DynamoAddressRepository, clock: Callable[[], datetime] | None = None) -> None:
        self.repo = repo
        self.clock = clock or (lambda: now())  # noqa: PLW0108 - looked up per call, so tests can patch it

    def addresses(self, user_id: str) -> AddressList:
        _book, addresses = self.repo.book(user_id)
        return AddressList(items=ordered(addresses))

    def create(self, user_id: str, body: AddressInput, key: str | None) -> tuple[Address, bool]:
        """A new address (201), or the one an earlier request with this Idempotency-Key made (replayed: True)."""
        check_key(key, required=False)
        digest = request_hash(body.model_dump(mode="json"))
        for attempt in range(ATTEMPTS):
            _backoff(attempt)
            earlier = self._earlier(user_id, key, digest)
            if earlier is not None:
                return earlier, True
            book, addresses = self.repo.book(user_id)
            if len(addresses) >= MAX_ADDRESSES:
                raise Conflict(f"a user has at most {MAX_ADDRESSES} addresses", code="ADDRESS_LIMIT_REACHED")
            moment = self.clock()
            is_default = default_on_create(len(addresses), body.is_default)
            address = Address(
                address_id=prefixed("adr"),
                **body.model_dump(include=set(_FIELDS)),
                is_default=is_default,
                version=1,
                created_at=moment,
                updated_at=moment,
            )
            items = [self.repo.put_address(user_id, address, 0)]
            events: list[DomainEvent] = [_saved(user_id, address)]
            default_id = book.default_id
            if is_default:
                items_, events_ = self._unset_default(user_id, addresses, moment)
                items += items_
                events += events_
                default_id = address.address_id
            new_book = Book(count=len(addresses) + 1, default_id=default_id, version=book.version + 1)
            items.append(self.repo.put_book(user_id, new_book, book, adding=True))
            if key is not None:
                items.append(self.repo.put_idempotency(user_id, key, digest, address.model_dump_json()))
            items += [self.repo.outbox(e) for e in events]
            if self.repo.commit(items):
                return address, False
        raise Conflict("the address book is changing; try again", code="TRY_AGAIN")

    def update(self, user_id: str, address_id: str, body: AddressUpdate) -> Address:
        for attempt in range(ATTEMPTS):
            _backoff(attempt)
            book, addresses = self.repo.book(user_id)
            current = next((a for a in addresses if a.address_id == address_id), None)
            if current is None:
                raise _not_found()
            if body.version != current.version:
                raise Conflict(
                    "the address changed since it was read",
                    code="VERSION_CONFLICT",
                    details=[{"version": current.version}],
                )
            is_default = current.is_default if body.is_default is None else body.is_default
            if current.is_default and not is_default:
                raise Conflict("make another address the default instead", code="DEFAULT_REQUIRED")
            moment = self.clock()
            updated = current.model_copy(
                update={
                    **body.model_dump(include=set(_FIELDS)),
                    "is_default": is_default,
                    "version": current.version + 1,
                    "updated_at": moment,
                }
            )
            items = [self.repo.put_address(user_id, updated, current.version)]
            events: list[DomainEvent] = [_saved(user_id, updated)]
            if is_default and not current.is_default:
                others = [a for a in addresses if a.address_id != address_id]
                items_, events_ = self._unset_default(user_id, others, moment)
                items += items_
                events += events_
            new_book = Book(
                count=len(addresses),
                default_id=address_id if is_default else book.default_id,
                version=book.version + 1,
            )
            items.append(self.repo.put_book(user_id, new_book, book))
            items += [self.repo.outbox(e) for e in events]
            if self.repo.commit(items):
                return updated
        raise Conflict("the address book is changing; try again", code="TRY_AGAIN")

    def delete(self, user_id: str, address_id: str) -> None:
        for attempt in range(ATTEMPTS):
            _backoff(attempt)
            book, addresses = self.repo.book(user_id)
            current = next((a for a in addresses if a.address_id == address_id), None)
            if current is None:
                raise _not_found()
            remaining = [a for a in addresses if a.address_id != address_id]
            items = [self.repo.delete_address(user_id, current)]
            events: list[DomainEvent] = []
            default_id = book.default_id
            if current.is_default:
                heir = successor(remaining)
                default_id = None
                if heir is not None:
                    moment = self.clock()
                    promoted = heir.model_copy(
                        update={"is_default": True, "version": heir.version + 1, "updated_at": moment}
                    )
                    items.append(self.repo.put_address(user_id, promoted, heir.version))
                    events.append(_saved(user_id, promoted))
                    default_id = promoted.address_id
            events.insert(
                0,
                AddressDeleted(
                    user_id=user_id, address_id=address_id, version=current.version, default_address_id=default_id
                ),
            )
            new_book = Book(count=len(remaining), default_id=default_id, version=book.version + 1)
            items.append(self.repo.put_book(user_id, new_book, book))
            items += [self.repo.outbox(e) for e in events]
            if self.repo.commit(items):
                return
        raise Conflict("the address book is changing; try again", code="TRY_AGAIN")

    # --- helpers ------------------------------------------------------------------------------------------------

    def _unset_default(
        self, user_id: str, addresses: list[Address], moment: datetime
    ) -> tuple[list[dict[str, Any]], list[DomainEvent]]:
        """Writes and events that take the default flag off whichever of ``addresses`` has it."""
        items: list[dict[str, Any]] = []
        events: list[DomainEvent] = []
        for old in addresses:
            if old.is_default:
                demoted = old.model_copy(update={"is_default": False, "version": old.version + 1, "updated_at": moment})
                items.append(self.repo.put_address(user_id, demoted, old.version))
                events.append(_saved(user_id, demoted))
        return items, events

    def _earlier(self, user_id: str, key: str | None, digest: str) -> Address | None:
        """The address an earlier request with ``key`` created, if there was one with this same body."""
        if key is None:
            return None
        record = self.repo.idempotency_record(user_id, key)
        if record is None:
            return None
        if record.get("request_hash") != digest:
            raise Unprocessable("this Idempotency-Key was used with another request", code="IDEMPOTENCY_KEY_REUSED")
        return Address.model_validate(json.loads(str(record["result"])))


def service() -> AddressBookService:
    from functions.shared.aws import client
    from functions.shared.settings import table_name

    return AddressBookService(DynamoAddressRepository(client("dynamodb"), table_name("accounts")))
