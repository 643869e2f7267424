"""Several photos at once: how many workers a batch gets, a memory budget for large photos, and a runner
that hands results on in the batch's own order.

Decoding, encoding and writing a photo are single-threaded, so on a few cores N photo workers with fewer
threads each beat one photo at a time with all of them (measured on 2 cores, 1 MP photos: 2 workers x 1
thread, +31 %). Large photos need more memory each and have more parallel work inside (render strips,
inference), so they get fewer workers with more threads; a photo starts only when the memory it needs
is free, so a batch of 40 MP scans never holds several of them at once on a small machine.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from engine.cancel import Cancelled, CancelToken

#: Peak memory of one photo in flight, per pixel (decoded pixels, L*, render strips, output, encoded
#: file): a 40 MP photo peaks below 1 GB, about 25 bytes a pixel; rounded up.
BYTES_PER_PIXEL = 28
#: Share of the memory available at the start that a batch's photos in flight may use together.
MEMORY_SHARE = 0.6
#: No more automatic workers than this: past it, more photos in flight only cost memory.
MAX_AUTO_JOBS = 8
#: Photos whose headers decide the automatic worker count (the first of the batch: no folder-wide scan).
SAMPLE_PHOTOS = 8
_SMALL_PHOTO = 4_000_000
_LARGE_PHOTO = 24_000_000

T = TypeVar("T")


def photo_pixels(path: os.PathLike | str) -> int:
    """Width x height from the header only; 0 when it cannot be read (the photo then fails on its own)."""
    from PIL import Image  # noqa: PLC0415 - lazily: the CLI's --help and usage errors need no Pillow

    try:
        with Image.open(path) as im:
            width, height = im.size
    except Exception:  # noqa: BLE001 - unreadable here is reported when the photo itself is read
        return 0
    return width * height


def threads_per_photo(pixels: int) -> int:
    """Threads one photo of this size can keep busy: 1 for small photos, more for large ones."""
    if pixels <= _SMALL_PHOTO:
        return 1
    return 2 if pixels <= _LARGE_PHOTO else 4


def plan_workers(threads: int, photos: int, sample_pixels: int, jobs: int | None = None) -> tuple[int, int]:
    """(photo workers, threads each) for ``photos`` photos on ``threads`` CPU threads in all.

    ``jobs`` (the user's --jobs) fixes the workers; otherwise they follow from the photo size sampled.
    """
    if jobs is None:
        jobs = min(MAX_AUTO_JOBS, max(1, threads // threads_per_photo(sample_pixels)))
    jobs = max(1, min(jobs, photos))
    return jobs, max(1, threads // jobs)


def available_memory() -> int | None:
    """Bytes of memory available to new allocations now (Linux: MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


class MemoryBudget:
    """Bytes that photos in flight may hold together; a photo larger than the whole budget runs alone."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.used = 0
        self._changed = threading.Condition()

    def acquire(self, need: int, cancel: CancelToken) -> int | None:
        """Wait until ``need`` bytes are free (or nothing else runs); the bytes granted, None if cancelled."""
        if self.total is None:
            return 0
        with self._changed:
            while self.used and self.used + need > self.total:
                if cancel.cancelled:
                    return None
                self._changed.wait(0.1)
            self.used += need
            return need

    def release(self, granted: int) -> None:
        with self._changed:
            self.used -= granted
            self._changed.notify_all()


def run_in_order(
    items: Sequence[T],
    work: Callable[[T], None],
    *,
    workers: int,
    cancel: CancelToken,
    memory_needed: Callable[[T], int],
    budget: MemoryBudget,
    finished: Callable[[T], None],
) -> bool:
    """Run ``work`` on every item with ``workers`` threads, started in order; ``finished`` is called for
    each finished item in the items' own order (the progress and error lines of a batch read the same
    whatever the timing). Returns True if stopped: ``cancel`` was set, or ``work`` raised Cancelled or
    KeyboardInterrupt (which sets it, so the other workers stop too). Items never started are left alone.

    The caller's thread only waits, in short joins, so that Python can run its signal handlers there.
    """
    lock = threading.Lock()
    done = [False] * len(items)
    state = {"next": 0, "reported": 0, "stopped": False}

    def report_ready() -> None:  # with the lock held
        while state["reported"] < len(items) and done[state["reported"]]:
            finished(items[state["reported"]])
            state["reported"] += 1

    def worker() -> None:
        while True:
            with lock:
                if cancel.cancelled or state["next"] >= len(items):
                    return
                index = state["next"]
                state["next"] += 1
            item = items[index]
            granted = budget.acquire(memory_needed(item) if budget.total is not None else 0, cancel)
            if granted is None:
                return
            try:
                work(item)
            except (Cancelled, KeyboardInterrupt):
                with lock:
                    state["stopped"] = True
                cancel.cancel()
                return
            finally:
                budget.release(granted)
            with lock:
                done[index] = True
                report_ready()

    threads = [threading.Thread(target=worker, name=f"rechroma-photo-{n}", daemon=True) for n in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.1)
    except KeyboardInterrupt:  # a Ctrl+C where no handler of ours is installed (not the main thread)
        cancel.cancel()
        for thread in threads:
            thread.join()
        state["stopped"] = True
    with lock:  # photos finished after one that was cancelled: still reported, in order
        for index, item in enumerate(items):
            if index >= state["reported"] and done[index]:
                finished(item)
    return bool(state["stopped"]) or cancel.cancelled
