"""The local platform (DESIGN.md §3): moto server, API gateway, event pump and seed data, built from the manifest."""
