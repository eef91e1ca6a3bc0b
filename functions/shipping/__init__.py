"""Shipping: warehouses, stock movements, shipments, carrier tracking, returns (issue: logistics and after-sales)."""
