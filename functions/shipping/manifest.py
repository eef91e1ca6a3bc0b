"""Wiring of the shipping context. Its routes arrive with their issue; the context exists so the layout is stable."""

from functions.shared.wiring import ContextManifest

MANIFEST = ContextManifest(name="shipping", description="Warehouses, stock movements, shipments, tracking, returns")
