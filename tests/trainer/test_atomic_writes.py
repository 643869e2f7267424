"""The trainer's packs, checkpoints and manifests go through the engine's one atomic write: the usual file
mode, no temp file left, and a failed write leaves the previous file as it was."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import torch

from engine.atomic_file import TEMP_MARKER
from trainer.checkpoint import load_checkpoint, save_checkpoint
from trainer.corpus.gather import _atomic_text
from trainer.corpus.pack import PackedPhoto, read_pack, write_pack


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_pack_over_its_limit_keeps_the_previous_pack(tmp_path: Path) -> None:
    photos = [PackedPhoto(jpeg=bytes(range(256)) * 40, source="s", name=f"p{i}", people=False, weight=1.0,
                          split=0) for i in range(3)]
    pack = tmp_path / "pack.npz"
    write_pack(pack, photos[:1])
    before = pack.read_bytes()
    assert _mode(pack) == 0o644
    with pytest.raises(ValueError, match="over the"):
        write_pack(pack, photos, max_bytes=len(before) + 100)
    assert pack.read_bytes() == before and len(read_pack(pack)) == 1
    assert not [p for p in tmp_path.iterdir() if TEMP_MARKER in p.name]


def test_checkpoint_and_manifest_are_written_whole_with_the_usual_mode(tmp_path: Path) -> None:
    checkpoint = save_checkpoint(tmp_path / "ckpt" / "last.pt", {"step": 7, "w": torch.ones(3)})
    assert load_checkpoint(checkpoint)["step"] == 7 and _mode(checkpoint) == 0o644
    manifest = tmp_path / "manifest.csv"
    _atomic_text(manifest, lambda handle: handle.write("file,source\r\nä.jpg,x\r\n"))
    assert manifest.read_bytes() == "file,source\r\nä.jpg,x\r\n".encode()
    assert _mode(manifest) == 0o644
    assert not [p for p in tmp_path.rglob("*") if TEMP_MARKER in p.name]
