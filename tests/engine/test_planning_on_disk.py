"""What is on disk decides a planned output as it did with a stat per photo, now that planning reads one listing
per output folder (engine.existing_names) and keeps paths as strings (issue 16)."""

from __future__ import annotations

import argparse
import errno
import os
from pathlib import Path

import numpy as np
import pytest

from engine.cli import NOT_OURS, Job, expand_inputs, plan_outputs
from engine.existing_names import ExistingNames
from engine.naming import NamePlanner
from engine.photo_io import write_photo


def photos(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).touch()  # planning never decodes
    return folder


def planned(tmp_path: Path, out: Path | None, **flags: bool) -> dict[str, Job]:
    batch = expand_inputs([str(tmp_path / "in")], recursive=False, output_dir=out)
    args = argparse.Namespace(**{"output": out, "format": None, "skip_existing": False, "overwrite_outputs": False,
                                 **flags})
    plan_outputs(batch.jobs, args)
    return {job.src.name: job for job in batch.jobs}


def ours(path: Path) -> Path:
    """A result Rechroma wrote (it carries the provenance)."""
    return write_photo(path, np.full((8, 8, 3), 120, np.uint8), description="Colorized by Rechroma")


def test_an_existing_output_in_the_listing_gets_a_free_name(tmp_path: Path) -> None:
    photos(tmp_path / "in", "a.jpg", "b.jpg", "c.jpg")
    out = photos(tmp_path / "out", "a_color.jpg", "c_color.jpg", "c_color-2.jpg")
    jobs = planned(tmp_path, out)
    assert {name: job.output for name, job in jobs.items()} == {
        "a.jpg": out / "a_color-2.jpg", "b.jpg": out / "b_color.jpg", "c.jpg": out / "c_color-3.jpg"}
    assert [name for name, job in jobs.items() if job.free_name] == ["a.jpg", "c.jpg"]
    assert all(job.status == "pending" for job in jobs.values())


def test_skip_existing_skips_what_the_listing_holds(tmp_path: Path) -> None:
    photos(tmp_path / "in", "a.jpg", "b.jpg")
    out = photos(tmp_path / "out", "a_color.jpg")
    jobs = planned(tmp_path, out, skip_existing=True)
    assert (jobs["a.jpg"].status, jobs["a.jpg"].output) == ("skipped", out / "a_color.jpg")
    assert (jobs["b.jpg"].status, jobs["b.jpg"].output) == ("pending", out / "b_color.jpg")


def test_overwrite_outputs_replaces_ours_and_keeps_a_users_file(tmp_path: Path) -> None:
    photos(tmp_path / "in", "a.png", "b.png")
    out = photos(tmp_path / "out", "b_color.png")  # the user's own file of that name
    ours(out / "a_color.png")
    jobs = planned(tmp_path, out, overwrite_outputs=True)
    assert (jobs["a.png"].status, jobs["a.png"].output, jobs["a.png"].free_name) == (
        "pending", out / "a_color.png", False)
    assert (jobs["b.png"].status, jobs["b.png"].output, jobs["b.png"].error) == (
        "skipped", out / "b_color.png", NOT_OURS)


def test_outputs_beside_the_photos_see_the_photos_folder(tmp_path: Path) -> None:
    folder = photos(tmp_path / "in", "a.jpg", "b.jpg", "b_color.jpg", "c.jpg", "c_color.png")
    ours(folder / "a_color.jpg")  # an earlier result: not a photo of this batch, and its name is taken
    jobs = planned(tmp_path, None)
    assert "a_color.jpg" not in jobs
    assert (jobs["a.jpg"].output, jobs["a.jpg"].free_name) == (folder / "a_color-2.jpg", True)
    # b_color.jpg is the user's and a photo of this batch: its name is never planned (an input), so b.jpg
    # gets the next one in planning, not as a name found on disk (as before: free_name counts only the latter)
    assert (jobs["b.jpg"].output, jobs["b.jpg"].free_name) == (folder / "b_color-2.jpg", False)
    assert jobs["b_color.jpg"].output == folder / "b_color_color.jpg"


def test_an_output_folder_not_there_yet_holds_nothing(tmp_path: Path) -> None:
    photos(tmp_path / "in", "a.jpg")
    jobs = planned(tmp_path, tmp_path / "new" / "out")
    assert (jobs["a.jpg"].output, jobs["a.jpg"].free_name) == (tmp_path / "new" / "out" / "a_color.jpg", False)


def test_a_name_differing_only_in_case_is_taken_where_the_file_system_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos(tmp_path / "in", "scan.jpg", "other.jpg")
    out = photos(tmp_path / "out", "SCAN_COLOR.JPG")
    # On a case-sensitive file system (this one) the listing's near miss is looked up and found free ...
    jobs = planned(tmp_path, out)
    assert (jobs["scan.jpg"].output, jobs["scan.jpg"].free_name) == (out / "scan_color.jpg", False)

    # ... on a case-insensitive one (macOS, Windows: stat finds SCAN_COLOR.JPG as scan_color.jpg) it is taken.
    real_stat = os.stat
    looked_up = []

    def case_insensitive_stat(path, *args, **kwargs):
        looked_up.append(os.path.basename(path))
        try:
            return real_stat(path, *args, **kwargs)
        except FileNotFoundError:
            folder, name = os.path.split(os.fspath(path))
            for entry in os.listdir(folder or "."):
                if entry.lower() == name.lower():
                    return real_stat(os.path.join(folder, entry), *args, **kwargs)
            raise

    monkeypatch.setattr(os, "stat", case_insensitive_stat)
    jobs = planned(tmp_path, out)
    assert (jobs["scan.jpg"].output, jobs["scan.jpg"].free_name) == (out / "scan_color-2.jpg", True)
    assert jobs["other.jpg"].output == out / "other_color.jpg"
    assert "other_color.jpg" not in looked_up  # a plain miss needs no stat: that is the point


def test_symlinks_are_looked_up_like_stat_does(tmp_path: Path) -> None:
    photos(tmp_path / "in", "a.jpg", "b.jpg")
    out = photos(tmp_path / "out", "target.jpg")
    (out / "a_color.jpg").symlink_to(out / "target.jpg")  # a link to a file: the name is taken
    (out / "b_color.jpg").symlink_to(out / "gone.jpg")  # a dangling link: stat said "not there", as before
    jobs = planned(tmp_path, out)
    assert (jobs["a.jpg"].output, jobs["a.jpg"].free_name) == (out / "a_color-2.jpg", True)
    assert (jobs["b.jpg"].output, jobs["b.jpg"].free_name) == (out / "b_color.jpg", False)


def test_a_folder_that_cannot_be_listed_is_asked_name_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos(tmp_path / "in", "a.jpg", "b.jpg")
    out = photos(tmp_path / "out", "a_color.jpg")  # a folder with -wx permissions: no listing, stat works
    batch = expand_inputs([str(tmp_path / "in")], recursive=False, output_dir=out)

    def no_listing(path):
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(os, "scandir", no_listing)
    plan_outputs(batch.jobs, argparse.Namespace(output=out, format=None, skip_existing=False,
                                                overwrite_outputs=False))
    assert [(job.output, job.free_name) for job in batch.jobs] == [
        (out / "a_color-2.jpg", True), (out / "b_color.jpg", False)]


def test_a_name_too_long_to_look_up_fails_that_photo_only(tmp_path: Path) -> None:
    long_name = "n" * 246 + ".jpg"  # fits, but its output name (+ "_color") is over the 255-byte limit
    photos(tmp_path / "in", long_name, "short.jpg")
    out = photos(tmp_path / "out")
    jobs = planned(tmp_path, out)
    assert (jobs[long_name].status, jobs[long_name].error, jobs[long_name].output) == (
        "failed", "output file name is too long", None)
    assert (jobs["short.jpg"].status, jobs["short.jpg"].output) == ("pending", out / "short_color.jpg")


def test_existing_names_answers_as_stat_does(tmp_path: Path) -> None:
    folder = photos(tmp_path / "f", "x.jpg", "Y.JPG", "ünï.jpg")
    (folder / "sub").mkdir()
    names = ExistingNames()
    for name in ("x.jpg", "Y.JPG", "y.jpg", "ünï.jpg", "unï.jpg", "sub", "z.jpg"):
        assert names.exists(str(folder), name) == (folder / name).exists(), name
    assert not names.exists(str(tmp_path / "missing"), "x.jpg")
    assert not names.exists(str(folder / "x.jpg"), "x.jpg")  # "folder" is a file: NotADirectoryError, as stat
    with pytest.raises(OSError) as raised:
        names.exists(str(folder), "n" * 300)
    assert raised.value.errno == errno.ENAMETOOLONG


def test_relative_paths_are_spelled_as_pathlib_spells_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The strings planning keeps instead of Paths print (errors, the JSON report) as the Paths did."""
    photos(tmp_path, "a.jpg")
    photos(tmp_path / "sub", "b.jpg")
    monkeypatch.chdir(tmp_path)
    for given, out in ((".", None), (".", Path(".")), ("sub", None), ("./sub", Path("o/../o")), ("sub/", Path(""))):
        batch = expand_inputs([given], recursive=False, output_dir=out)
        plan_outputs(batch.jobs, argparse.Namespace(output=out, format="png", skip_existing=False,
                                                    overwrite_outputs=False))
        for job in batch.jobs:
            spelled = (job.source, job.target)  # before job.src turns the source into a Path
            src = Path(given) / job.src.name
            expected = src.with_name(f"{src.stem}_color.png") if out is None else out / f"{src.stem}_color.png"
            assert spelled == (str(src), str(expected)), (given, out)


def test_the_string_planner_names_as_the_path_planner(tmp_path: Path) -> None:
    folder = photos(tmp_path / "f", "scan.jpg", "scan-2.jpg", "scan_color.jpg")
    by_path, by_name = NamePlanner([folder / "scan.jpg"]), NamePlanner()
    by_name.reserve_name(str(folder), "scan.jpg")
    names = ExistingNames()
    for src, pattern in (("scan.jpg", "{stem}_color"), ("scan.jpg", "{stem}"), ("scan-2.jpg", "{stem}"),
                         ("scan.png", "{stem}"), ("scan.jpg", "{stem}_color")):
        expected = by_path.plan(folder / src, None, None, pattern, avoid_existing=True)
        name = by_name.plan_name(src, str(folder), None, pattern, exists=lambda n: names.exists(str(folder), n))
        assert folder / name == expected
    assert expected.name == "scan_color-3.jpg"  # -1 on disk, -2 claimed in this batch
    assert by_name.claim(str(folder / "new.jpg"), avoid_existing=True) == str(folder / "new.jpg")


def test_a_link_loop_in_the_way_is_treated_as_before(tmp_path: Path) -> None:
    """A link loop named like the output fails that photo with the system's reason, as the stat did; met
    while picking a free name it counts as not there, as Path.exists did (the write then moves on)."""
    photos(tmp_path / "in", "a.jpg", "b.jpg")
    out = photos(tmp_path / "out", "b_color.jpg")
    (out / "a_color.jpg").symlink_to(out / "a_color.jpg")
    (out / "b_color-2.jpg").symlink_to(out / "b_color-2.jpg")
    jobs = planned(tmp_path, out)
    assert (jobs["a.jpg"].status, jobs["a.jpg"].error) == ("failed", os.strerror(errno.ELOOP))
    assert (jobs["b.jpg"].status, jobs["b.jpg"].output, jobs["b.jpg"].free_name) == (
        "pending", out / "b_color-2.jpg", True)
