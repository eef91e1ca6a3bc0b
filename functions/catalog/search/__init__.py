"""Keyword search over the catalogue: text analysis (:mod:`.text`), the index protocol and its storage-agnostic
ranking (:mod:`.index`), and the DynamoDB implementation with its key design and costs (:mod:`.dynamo`)."""
