"""Payments: payment intents, provider adapters, signed callbacks and refunds (issue: payments)."""
