"""The engine's one atomic write: no replace when asked not to (even against a file that appears while the
data is being written), the next free name, durable publishing, the file mode, and leftover clean-up."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from engine import atomic_file
from engine.atomic_file import TEMP_MARKER, atomic_write, free_names, remove_stale_temps
from engine.photo_io import PhotoExistsError, read_photo, write_photo


def temps(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if TEMP_MARKER in p.name]


def intruder(target: Path, content: bytes):
    """A writer that lets another program create ``target`` while our data is being written."""

    def write(handle) -> None:
        target.write_bytes(content)
        handle.write(b"ours")

    return write


@pytest.fixture(params=["renameat2", "link"])
def publish(request, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of publishing without replacing: Linux's renameat2 and the hard-link fallback."""
    if request.param == "link":
        monkeypatch.setattr(atomic_file, "_renameat2", None)
    elif atomic_file._renameat2 is None:
        pytest.skip("renameat2 is not available on this system")
    return request.param


def test_a_file_appearing_while_writing_is_never_replaced(tmp_path: Path, publish: str) -> None:
    target = tmp_path / "x_color.png"
    with pytest.raises(FileExistsError):
        atomic_write(target, intruder(target, b"theirs"), replace=False)
    assert target.read_bytes() == b"theirs"
    assert temps(tmp_path) == []


def test_next_free_name_when_the_name_is_taken_at_publish_time(tmp_path: Path, publish: str) -> None:
    target = tmp_path / "x_color.png"
    (tmp_path / "x_color-2.png").write_bytes(b"older")
    written = atomic_write(target, intruder(target, b"theirs"), replace=False, next_free=True)
    assert written == tmp_path / "x_color-3.png"
    assert written.read_bytes() == b"ours"
    assert target.read_bytes() == b"theirs" and (tmp_path / "x_color-2.png").read_bytes() == b"older"
    assert temps(tmp_path) == []


def test_many_writers_racing_for_one_name_all_survive(tmp_path: Path, publish: str) -> None:
    """The engine-level race of issue 9: 8 threads x 25 writes of the same name, every write kept."""
    target = tmp_path / "same.bin"
    written: list[Path] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for i in range(25):
            path = atomic_write(target, f"{n}-{i}".encode(), replace=False, next_free=True, fsync=False)
            with lock:
                written.append(path)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(written)) == 200
    contents = {p.read_bytes() for p in tmp_path.iterdir()}
    assert contents == {f"{n}-{i}".encode() for n in range(8) for i in range(25)}


def test_write_photo_moves_to_a_free_name_instead_of_failing(tmp_path: Path, monkeypatch) -> None:
    """A photo planned as x_color.png whose name another run took meanwhile ends as x_color-2.png."""
    target = tmp_path / "x_color.png"
    real_encode = write_photo.__globals__["encode"]

    def encode_while_another_run_writes(*args, **kwargs):
        target.write_bytes(b"the other run's photo")
        return real_encode(*args, **kwargs)

    monkeypatch.setitem(write_photo.__globals__, "encode", encode_while_another_run_writes)
    pixels = np.full((8, 8, 3), 100, np.uint8)
    written = write_photo(target, pixels, next_free=True)
    assert written == tmp_path / "x_color-2.png" and read_photo(written).size == (8, 8)
    assert target.read_bytes() == b"the other run's photo"
    with pytest.raises(PhotoExistsError):
        write_photo(target, pixels)


def test_replace_keeps_the_permissions_and_new_files_get_0644(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        new = atomic_write(tmp_path / "new.json", b"{}", replace=False)
        assert stat.S_IMODE(new.stat().st_mode) == 0o644
        private = tmp_path / "private.bin"
        private.write_bytes(b"old")
        private.chmod(0o600)
        atomic_write(private, b"new", replace=True)
        assert private.read_bytes() == b"new" and stat.S_IMODE(private.stat().st_mode) == 0o600
        assert stat.S_IMODE(atomic_write(tmp_path / "q", b"", replace=True, mode=0o600).stat().st_mode) == 0o600
    finally:
        os.umask(umask)


def test_data_is_synced_before_the_name_appears_and_the_folder_after(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "photo.png"
    synced: list[tuple[str, bool]] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        kind = "folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        synced.append((kind, target.exists()))
        real_fsync(fd)

    monkeypatch.setattr(atomic_file.os, "fsync", spy)
    atomic_write(target, b"data", replace=False)
    assert synced == [("file", False), ("folder", True)]
    synced.clear()
    atomic_write(tmp_path / "writer.bin", lambda handle: handle.write(b"x"), replace=True)
    assert [kind for kind, _ in synced] == ["file", "folder"]


def test_free_names_go_on_counting_from_a_planned_number() -> None:
    names = free_names(Path("out/x_color-2.png"))
    assert [next(names).name for _ in range(3)] == ["x_color-2.png", "x_color-3.png", "x_color-4.png"]
    names = free_names(Path("x_color.jpg"))
    assert [next(names).name for _ in range(3)] == ["x_color.jpg", "x_color-2.jpg", "x_color-3.jpg"]


def test_stale_temp_files_of_our_pattern_are_removed(tmp_path: Path) -> None:
    old = tmp_path / f".a.jpg{TEMP_MARKER}0123abcd"
    fresh = tmp_path / f".b.jpg{TEMP_MARKER}89abcdef"
    look_alike = tmp_path / f"a.jpg{TEMP_MARKER}0123abcd"  # not hidden: not ours
    user = tmp_path / ".a.jpg.tmp"
    for path in (old, fresh, look_alike, user):
        path.write_bytes(b"partial")
    hour_ago = time.time() - 3600
    for path in (old, look_alike, user):
        os.utime(path, (hour_ago, hour_ago))
    assert remove_stale_temps(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (fresh, look_alike, user))


def test_a_file_where_the_folder_should_be(tmp_path: Path) -> None:
    (tmp_path / "afile").write_bytes(b"x")
    with pytest.raises(NotADirectoryError):
        atomic_write(tmp_path / "afile" / "out.json", b"{}", replace=True)
    with pytest.raises(IsADirectoryError):
        atomic_write(tmp_path, b"{}", replace=True)


def test_write_photo_turns_a_too_long_name_into_a_photo_error(tmp_path: Path) -> None:
    from engine.photo_io import PhotoError

    with pytest.raises(PhotoError, match="^output file name is too long$"):
        write_photo(tmp_path / ("n" * 300 + ".png"), np.zeros((4, 4, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
