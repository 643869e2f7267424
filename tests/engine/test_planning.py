"""Planning a batch's outputs is linear (issue 16): each path resolved about once, however many photos.

The old plan resolved every planned name again for each photo (348,241 resolve() calls for 480 photos);
for 20,000 photos that is 200 million calls, so a bound of a few per photo fails it by five orders of
magnitude, without timing anything. The counting stops the old behaviour early instead of running for hours.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from engine.cli import expand_inputs, plan_outputs

COUNT = 20_000


class TooManyResolves(AssertionError):
    pass


@pytest.fixture
def counted_resolve(monkeypatch: pytest.MonkeyPatch):
    calls = {"n": 0, "limit": 3 * COUNT + 100}
    real = Path.resolve

    def resolve(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > calls["limit"]:
            raise TooManyResolves(f"more than {calls['limit']} Path.resolve() calls: planning is not linear")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "resolve", resolve)
    return calls


def test_twenty_thousand_photos_plan_in_linear_time(tmp_path: Path, counted_resolve) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    for i in range(COUNT - 1000):
        (folder / f"p{i:05d}.jpg").touch()  # empty files: planning never decodes
    for i in range(1000):
        (folder / f"p{i:05d}.png").touch()  # same stems: these need the free names
    (folder / "p00001_color.jpg").write_bytes(b"a user's file in the way")

    batch = expand_inputs([str(folder)], recursive=False, output_dir=None)
    assert len(batch.jobs) == COUNT + 1  # the user's p00001_color.jpg is a photo: no Rechroma provenance
    out = tmp_path / "out"
    out.mkdir()
    (out / "p00002_color.jpg").write_bytes(b"an earlier run's result")
    args = argparse.Namespace(output=out, format="jpg", skip_existing=False, overwrite_outputs=False)
    plan_outputs(batch.jobs, args)

    assert counted_resolve["n"] <= counted_resolve["limit"]
    outputs = [job.output for job in batch.jobs]
    assert len(set(outputs)) == len(outputs)
    assert not {job.src for job in batch.jobs} & set(outputs)
    by_name = {job.src.name: job.output.name for job in batch.jobs}
    assert by_name["p00000.jpg"] == "p00000_color.jpg" and by_name["p00000.png"] == "p00000_color-2.jpg"
    assert by_name["p00001_color.jpg"] == "p00001_color_color.jpg"
    assert by_name["p00002.jpg"] == "p00002_color-2.jpg"  # the earlier result is kept
    assert by_name["p00002.png"] == "p00002_color-3.jpg"
    assert [job.src.name for job in batch.jobs if job.free_name] == ["p00002.jpg"]
