"""Saved addresses of the user centre (``GET|POST /me/addresses``, ``PUT|DELETE /me/addresses/{address_id}``).

**What it stores.** The accounts table (``accounts``), one partition per user (``USER#<user_id>``): the addresses
(``ADDRESS#<address_id>``) and one small book item (``BOOK``) with how many there are, which one is the default and
a version that every change of the book moves on. Idempotency records of ``POST`` live in their own partitions
(``IDEMP#<user_id>#<key>``) and expire after a day; events go out through the table's outbox.

**Access patterns.** Reading the book is one strongly consistent Query of the user's partition (at most 21 items);
every change is one TransactWriteItems conditioned on the book's version, so two changes of one user's addresses
are serialised even when they come at once (the loser re-reads and decides again).

**Invariants.**

* At most :data:`model.MAX_ADDRESSES` addresses per user: the 21st is 409 ``ADDRESS_LIMIT_REACHED`` (the book's
  count is checked in the same transaction as the new address).
* Exactly one default while any address exists (:mod:`model` holds the rules): the first address is the default;
  making another one the default unsets the old one in the same transaction; deleting the default passes it to the
  most recently updated one left. The default cannot simply be unset (409 ``DEFAULT_REQUIRED``).
* ``PUT`` replaces an address with the ``version`` read; a stale one is 409 ``VERSION_CONFLICT``. Another user's
  address is a 404, like one that does not exist.
* ``AddressSaved`` carries an address's full state and version (also when only its default flag moved);
  ``AddressDeleted`` follows a deletion: a projection applies them per address, newest version wins.
"""
