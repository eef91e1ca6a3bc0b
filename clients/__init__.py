"""Clients for the shop's APIs that partners can copy: each module depends on nothing but the standard library."""
