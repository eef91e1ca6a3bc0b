"""``python -m local`` (``make run``): start the local platform and serve until Ctrl-C (see local.cli)."""

if __name__ == "__main__":
    from local.cli import main

    raise SystemExit(main())
