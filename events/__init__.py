"""Event contracts: one JSON Schema per domain event (``schemas/``) and sample Lambda events (``samples/``)."""
