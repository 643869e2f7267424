"""engine.allocator: after it, a freed multi-megabyte temporary is reused instead of re-faulted from the OS."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine import allocator

REPO = Path(__file__).resolve().parents[2]

#: Allocates and touches eight 8 MB arrays at once (like a render strip's temporaries), frees them, 10 times;
#: prints the page faults that cost, before and after engine.allocator.keep_freed_memory() (in a fresh
#: interpreter: the setting is process-wide and sticky).
PROBE = """
import resource, sys
import numpy as np
from engine import allocator

def faults():
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        temporaries = [np.ones(1 << 21, np.float32) for _ in range(8)]
        del temporaries
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start

faults()
before = faults()
tuned = allocator.keep_freed_memory()
faults()
print(before, faults(), tuned, allocator.keep_freed_memory())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or allocator._glibc() is None, reason="glibc only")
def test_freed_temporaries_are_reused_not_refaulted() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, cwd=REPO)
    before, after, tuned, again = done.stdout.split()
    assert tuned == again == "True"
    # By default glibc trims the heap's free top and the pages are faulted again: 40 k here, in 10 rounds.
    assert int(before) > 10 * 2048
    assert int(after) < 2000


def test_release_is_safe_to_call_anywhere() -> None:
    assert allocator.release_freed_memory() in (True, False)
    assert allocator.keep_freed_memory() in (True, False)
