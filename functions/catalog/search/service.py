"""The search composition root: which :class:`~functions.catalog.search.index.SearchIndex` the functions use.

``SEARCH_BACKEND`` selects the implementation; ``dynamodb`` (the default) is the only one today. An OpenSearch
Serverless implementation (see functions.catalog.search.dynamo for when and how) would be one more branch here and
one more resource grant in the manifest; handlers, the consumer and the reindex job only see the protocol.
"""

from __future__ import annotations

import os

from functions.catalog.search.index import SearchIndex
from functions.shared.settings import MissingSetting


def search_index() -> SearchIndex:
    from functions.catalog.search.dynamo import DynamoSearchIndex
    from functions.shared.aws import client
    from functions.shared.settings import table_name

    backend = os.environ.get("SEARCH_BACKEND", "dynamodb")
    if backend != "dynamodb":
        raise MissingSetting(f"SEARCH_BACKEND={backend!r} is not an available search backend")
    return DynamoSearchIndex(client("dynamodb"), table_name("search"))
