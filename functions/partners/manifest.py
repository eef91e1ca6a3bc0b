"""Wiring of the partners context."""

from functions.shared.wiring import ContextManifest

MANIFEST = ContextManifest(name="partners", description="Partner apps, their secrets and the signed-request authorizer")
