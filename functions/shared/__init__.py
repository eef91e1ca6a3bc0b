"""The shared kernel: money, ids, errors, cursors, auth context, the HTTP resolver factory, events and wiring types.

Nothing here creates an AWS client or reads a required setting at import time; both happen lazily, once, and are
cached, so tests can set the environment (or moto) up before the first call.
"""
