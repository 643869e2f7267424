"""Frozen entry point of the ``rechroma-cli`` executable (a console program; engine only, no Qt)."""

import sys

if __name__ == "__main__":
    from engine.cli import main

    sys.exit(main())
