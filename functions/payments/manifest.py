"""Wiring of the payments context. Its routes arrive with their issue; the context exists so the layout is stable."""

from functions.shared.wiring import ContextManifest

MANIFEST = ContextManifest(name="payments", description="Payment intents, providers, callbacks, refunds")
