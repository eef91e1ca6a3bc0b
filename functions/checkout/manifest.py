"""Wiring of the checkout context. Its routes arrive with their issue; the context exists so the layout is stable."""

from functions.shared.wiring import ContextManifest

MANIFEST = ContextManifest(
    name="checkout", description="Cart, checkout, orders, coupons, flash sales, stock reservation"
)
