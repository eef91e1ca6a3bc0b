"""The audit log: every back-office and partner call that changes something, append-only."""
