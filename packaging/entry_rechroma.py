"""Frozen entry point of the ``rechroma`` GUI executable (``--self-test`` is handled by desktop.app.main)."""

import sys

from desktop.app import main

if __name__ == "__main__":
    sys.exit(main())
