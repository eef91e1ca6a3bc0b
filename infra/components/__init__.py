"""Reusable constructs of the app: the Lambda factory and the code/layer it ships.

Deliberately not called ``constructs``: ``python infra/app.py`` would otherwise shadow the ``constructs`` library.
"""
