"""Checkout: cart, checkout, orders, coupons, flash sales and stock reservation (issue: cart, checkout and orders)."""
