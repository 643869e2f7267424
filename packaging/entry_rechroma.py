"""Frozen entry point of the ``rechroma`` GUI executable: ``--self-test`` runs desktop.selftest, else the app.

The flag is handled here, before Qt starts, so desktop/app.py needs no packaging knowledge and the same
self-test runs from source as ``python -m desktop.selftest``.
"""

import sys

if __name__ == "__main__":
    if "--self-test" in sys.argv[1:]:
        from desktop.selftest import main as self_test

        sys.exit(self_test([a for a in sys.argv[1:] if a != "--self-test"]))
    from desktop.app import main

    sys.exit(main())
