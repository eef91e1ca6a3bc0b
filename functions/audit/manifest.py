"""Wiring of the audit context (filled in by the audit slice)."""

from functions.shared.wiring import ContextManifest

MANIFEST = ContextManifest(name="audit", description="The append-only audit log of back-office and partner changes")
