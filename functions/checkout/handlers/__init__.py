"""One module per route or consumer of the checkout context."""
