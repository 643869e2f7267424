"""``--shard K/N``: N copies of the same command colorize every photo exactly once, named as one run would."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import pytest

from engine.cli import main
from engine.shard import Shard, parse_shard, select_shard, shard_of


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_shards_partition_any_list_and_each_path_keeps_its_shard() -> None:
    paths = [f"scans/box{i // 50}/img_{i:04d}.tif" for i in range(400)]
    parts = [select_shard(paths, Shard(k, 4)) for k in range(4)]
    assert sorted(p for part in parts for p in part) == sorted(paths)  # every photo exactly once
    assert all(60 < len(part) < 140 for part in parts)  # a hash spreads them
    assert all(part == [p for p in paths if p in set(part)] for part in parts)  # original order kept
    # A photo's shard depends on its own path only: adding photos moves no one.
    more = select_shard(paths + [f"scans/new/{i}.tif" for i in range(50)], Shard(2, 4))
    assert [p for p in more if p in set(paths)] == parts[2]
    # The same path written differently is the same photo.
    assert shard_of("scans/./box0/img_0001.tif", 7) == shard_of("scans/box0/img_0001.tif", 7)
    assert select_shard(paths, None) == paths and select_shard(paths, Shard(0, 1)) == paths


@pytest.mark.parametrize("text", ["1", "2/2", "-1/3", "a/b", "1/0", "1/2/3"])
def test_bad_shard_specs_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_shard(text)


def test_parse_shard() -> None:
    assert parse_shard("3/8") == Shard(3, 8) and str(Shard(3, 8)) == "3/8"


def test_cli_shards_cover_the_batch_once_with_the_unsharded_names(
    photo_dir: Path, tmp_path: Path, standin_model: Path, capsys: pytest.CaptureFixture
) -> None:
    common = ["--model", str(standin_model), "--threads", "1", "--format", "png"]
    whole = tmp_path / "whole"
    assert main([str(photo_dir), "-o", str(whole), *common]) == 0
    sharded = tmp_path / "sharded"
    per_shard: list[list[str]] = []
    for k in range(3):
        report = tmp_path / f"shard{k}.json"
        assert main([str(photo_dir), "-o", str(sharded), "--shard", f"{k}/3", "--json", str(report), *common]) == 0
        per_shard.append([f["input"] for f in json.loads(report.read_text())["files"]])
    inputs = [path for part in per_shard for path in part]
    # Six photos, each colorized by exactly one shard; grey.jpg and grey.png (same stem) get the names
    # and bytes the single run gave them, though different shards may have written them.
    assert sorted(inputs) == sorted(str(p) for p in photo_dir.iterdir())
    assert digest(sharded) == digest(whole) and len(digest(whole)) == 6
    # A rerun of a shard with --skip-existing changes nothing.
    before = digest(sharded)
    biggest = max(range(3), key=lambda k: len(per_shard[k]))
    capsys.readouterr()
    assert main([str(photo_dir), "-o", str(sharded), "--shard", f"{biggest}/3", "--skip-existing", *common]) == 0
    assert f"done 0, skipped {len(per_shard[biggest])}, failed 0" in capsys.readouterr().out
    assert digest(sharded) == before
    # More shards than photos: the empty ones finish cleanly.
    codes = [main([str(photo_dir), "-o", str(tmp_path / "many"), "--shard", f"{k}/40", *common]) for k in range(40)]
    assert codes == [0] * 40 and len(digest(tmp_path / "many")) == 6


def test_cli_refuses_a_bad_shard(photo_dir: Path, standin_model: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(photo_dir), "--shard", "3/3", "--model", str(standin_model)]) == 2
    assert "K counts from 0" in capsys.readouterr().err
