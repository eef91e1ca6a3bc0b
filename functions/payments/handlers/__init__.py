"""One module per route or consumer of the payments context."""
