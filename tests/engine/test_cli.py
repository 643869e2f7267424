"""rechroma-cli end to end on real files: naming, mixed good/bad batches, globs, recursion, existing outputs,
JSON results, the no-model message and exit codes."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from standin_model import make_scene

from engine.cli import main
from engine.naming import looks_like_output_of, output_path, unique_path
from engine.resources import MODELS_DIR_ENV

REPO = Path(__file__).resolve().parents[2]


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def size_of(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


@pytest.fixture
def run(standin_model: Path, capsys: pytest.CaptureFixture):
    """Run the CLI in-process with the stand-in model; returns (exit code, stdout, stderr)."""

    def _run(*args: str | Path, model: bool = True) -> tuple[int, str, str]:
        argv = [str(a) for a in args] + (["--model", str(standin_model), "--threads", "1"] if model else [])
        code = main(argv)
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def test_folder_with_good_and_bad_files(photo_dir: Path, tmp_path: Path, run) -> None:
    (photo_dir / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 50)
    (photo_dir / "notes.png").write_text("not a picture")
    (photo_dir / "empty.tif").write_bytes(b"")
    before = digest(photo_dir)
    out = tmp_path / "out"

    code, stdout, stderr = run(photo_dir, "-o", out, "--format", "png")

    assert code == 1
    good = {"colour": (320, 240), "sepia": (260, 200), "alpha": (120, 96), "deep": (140, 90)}
    written = sorted(p.name for p in out.iterdir())
    # grey.jpg and grey.png share a stem: one keeps the exact name, the other gets "-2".
    assert written == sorted(["colour_color.png", "grey_color.png", "grey_color-2.png", "sepia_color.png",
                              "alpha_color.png", "deep_color.png"])
    for stem in ("colour", "sepia", "alpha", "deep"):
        assert size_of(out / f"{stem}_color.png") == good[stem]
    assert {size_of(out / "grey_color.png"), size_of(out / "grey_color-2.png")} == {(200, 300), (160, 128)}
    for bad in ("broken.jpg", "notes.png", "empty.tif"):
        assert f"{bad}:" in stderr
    assert "file is empty" in stderr
    assert "done 6, skipped 0, failed 3" in stdout
    assert "device: cpu (CPUExecutionProvider)" in stdout
    assert digest(photo_dir) == before  # originals byte-identical, nothing added next to them
    assert not [p for p in tmp_path.rglob("*") if "tmp" in p.name and p.is_file()]


def test_all_good_exits_zero_with_exact_names(photo_dir: Path, tmp_path: Path, run) -> None:
    out = tmp_path / "colorized"
    code, stdout, _ = run(photo_dir / "colour.jpg", photo_dir / "sepia.jpg", "-o", out, "--format", "png")
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["colour_color.png", "sepia_color.png"]
    assert "done 2, skipped 0, failed 0" in stdout


def test_default_output_is_next_to_input_in_its_own_format(photo_dir: Path, run) -> None:
    code, _, _ = run(photo_dir / "colour.jpg")
    assert code == 0
    assert size_of(photo_dir / "colour_color.jpg") == (320, 240)
    # Rescanning the folder does not colorize that result again.
    code, stdout, _ = run(photo_dir)
    assert code == 0
    assert not (photo_dir / "colour_color_color.jpg").exists()
    assert (photo_dir / "colour_color-2.jpg").exists()  # existing output kept, a free name used instead


def test_glob_input(photo_dir: Path, tmp_path: Path, run) -> None:
    out = tmp_path / "out"
    code, _, _ = run(str(photo_dir / "*.png"), "-o", out)
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["alpha_color.png", "deep_color.png", "grey_color.png"]


def test_glob_without_matches_is_reported(photo_dir: Path, tmp_path: Path, run) -> None:
    code, _, stderr = run(str(photo_dir / "*.webp"), photo_dir / "grey.png", "-o", tmp_path / "out")
    assert code == 1
    assert "no photos match" in stderr


def test_recursive_keeps_sub_folders(tmp_path: Path, run) -> None:
    src = tmp_path / "album"
    (src / "1950s" / "summer").mkdir(parents=True)
    Image.fromarray(make_scene(40, 60, seed=1)).save(src / "top.png")
    Image.fromarray(make_scene(50, 30, seed=2)).save(src / "1950s" / "top.png")
    Image.fromarray(make_scene(30, 30, seed=3)).save(src / "1950s" / "summer" / "beach.jpg")
    out = tmp_path / "out"

    code, _, _ = run(src, "-o", out)
    assert code == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*")) == ["top_color.png"]

    code, _, _ = run(src, "-o", out, "--recursive", "--overwrite-outputs")
    assert code == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*")) == [
        "1950s/summer/beach_color.jpg", "1950s/top_color.png", "top_color.png"]
    assert size_of(out / "1950s" / "top_color.png") == (30, 50)


def test_recursive_glob(tmp_path: Path, run) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    Image.fromarray(make_scene(20, 20)).save(tmp_path / "a" / "b" / "deep.png")
    code, _, _ = run(str(tmp_path / "**" / "*.png"), "--recursive", "-o", tmp_path / "out")
    assert code == 0
    assert (tmp_path / "out" / "deep_color.png").exists()


def test_output_folder_inside_the_input_folder_is_not_rescanned(photo_dir: Path, run) -> None:
    out = photo_dir / "colorized"
    assert run(photo_dir / "grey.png", "-o", out)[0] == 0
    code, stdout, _ = run(photo_dir, "-o", out, "--recursive", "--skip-existing")
    assert code == 0
    assert "skipped 1" in stdout
    assert not list(out.glob("*_color_color*"))


def test_skip_existing_and_overwrite_outputs(photo_dir: Path, tmp_path: Path, run) -> None:
    out = tmp_path / "out"
    src = photo_dir / "colour.jpg"
    assert run(src, "-o", out, "--format", "png")[0] == 0
    target = out / "colour_color.png"
    first = target.read_bytes()

    code, stdout, _ = run(src, "-o", out, "--format", "png", "--skip-existing", "--strength", "2")
    assert code == 0 and "done 0, skipped 1, failed 0" in stdout
    assert target.read_bytes() == first

    code, stdout, _ = run(src, "-o", out, "--format", "png", "--overwrite-outputs", "--strength", "2")
    assert code == 0 and "done 1, skipped 0" in stdout
    assert target.read_bytes() != first
    assert sorted(p.name for p in out.iterdir()) == ["colour_color.png"]

    code, _, _ = run(src, "-o", out, "--format", "png")  # neither flag: keep it, write beside it
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["colour_color-2.png", "colour_color.png"]


def test_skip_existing_tells_photos_with_the_same_stem_apart(photo_dir: Path, tmp_path: Path, run) -> None:
    out = tmp_path / "out"
    assert run(photo_dir / "grey.jpg", "-o", out, "--format", "png")[0] == 0  # -> grey_color.png
    code, stdout, _ = run(photo_dir, "-o", out, "--format", "png", "--skip-existing")
    # grey.png's own output (grey_color-2.png, grey_color.png being grey.jpg's) did not exist yet.
    assert code == 0 and "done 5, skipped 1, failed 0" in stdout
    assert size_of(out / "grey_color-2.png") == (160, 128)
    before = digest(out)
    code, stdout, _ = run(photo_dir, "-o", out, "--format", "png", "--skip-existing")
    assert code == 0 and "done 0, skipped 6, failed 0" in stdout
    assert digest(out) == before
    code, stdout, _ = run(photo_dir, "-o", out, "--format", "png", "--overwrite-outputs")
    assert code == 0 and "done 6, skipped 0" in stdout
    assert set(digest(out)) == set(before)


def test_overwrite_outputs_never_overwrites_an_input(tmp_path: Path, run) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(make_scene(30, 40, seed=1)).save(folder / "x.png")
    # A photo that happens to be named like x.png's output, given explicitly as an input too.
    Image.fromarray(make_scene(30, 40, seed=2)).save(folder / "x_color.png")
    before = digest(folder)
    code, _, _ = run(folder / "x.png", folder / "x_color.png", "--overwrite-outputs")
    assert code == 0
    after = digest(folder)
    assert after["x.png"] == before["x.png"] and after["x_color.png"] == before["x_color.png"]
    assert {"x_color-2.png", "x_color_color.png"} <= set(after)


def test_json_results(photo_dir: Path, tmp_path: Path, run) -> None:
    (photo_dir / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    report = tmp_path / "report" / "results.json"
    code, _, _ = run(photo_dir / "colour.jpg", photo_dir / "broken.png", tmp_path / "missing.jpg",
                     "-o", tmp_path / "out", "--json", report)
    assert code == 1
    data = json.loads(report.read_text())
    assert data["model"] == "standin v1" and data["device"] == "cpu"
    assert data["summary"]["done"] == 1 and data["summary"]["failed"] == 2
    files = {Path(f["input"]).name: f for f in data["files"]}
    assert set(files) == {"colour.jpg", "broken.png", "missing.jpg"}
    good = files["colour.jpg"]
    assert good["status"] == "done" and good["error"] is None and good["size"] == [320, 240]
    assert Path(good["output"]) == tmp_path / "out" / "colour_color.jpg" and Path(good["output"]).exists()
    assert good["seconds"] > 0
    for name in ("broken.png", "missing.jpg"):
        assert files[name]["status"] == "failed" and files[name]["output"] is None and files[name]["error"]
    assert "no such file" in files["missing.jpg"]["error"]


def test_no_model_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, photo_dir: Path, run) -> None:
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "empty-models"))
    code, _, stderr = run(photo_dir, "-o", tmp_path / "out", model=False)
    assert code == 2
    assert "no colorization model installed" in stderr
    assert "rechroma-train" in stderr and "--model" in stderr
    assert not (tmp_path / "out").exists()


def test_installed_model_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, photo_dir: Path,
                                  standin_model: Path, run) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(standin_model, models / "rechroma.onnx")
    monkeypatch.setenv(MODELS_DIR_ENV, str(models))
    code, stdout, _ = run(photo_dir / "grey.png", "-o", tmp_path / "out", model=False)
    assert code == 0 and f"model: standin v1 ({models / 'rechroma.onnx'})" in stdout


def test_bad_model_and_device_are_usage_errors(tmp_path: Path, photo_dir: Path, standin_model: Path,
                                              run) -> None:
    fake = tmp_path / "fake.onnx"
    fake.write_text("hello")
    code, _, stderr = run(photo_dir, "--model", fake, model=False)
    assert code == 2 and "fake.onnx is not a usable ONNX model" in stderr
    code, _, stderr = run(photo_dir, "--model", tmp_path / "absent.onnx", model=False)
    assert code == 2 and "model file not found" in stderr
    code, _, stderr = run(photo_dir, "--device", "cuda")
    assert code == 2 and "cuda" in stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--strength", "2.5"],
        ["--quality", "0"],
        ["--format", "gif"],
        ["--render-size", "8"],
        ["--skip-existing", "--overwrite-outputs"],
        ["--threads", "0"],
    ],
)
def test_usage_errors_exit_2(args: list[str], photo_dir: Path, run) -> None:
    code, _, stderr = run(photo_dir, *args)
    assert code == 2 and stderr


def test_nothing_to_do_exits_2(tmp_path: Path, run) -> None:
    (tmp_path / "empty").mkdir()
    code, _, stderr = run(tmp_path / "empty")
    assert code == 2 and "no photos found" in stderr


def test_entry_point_process(photo_dir: Path, tmp_path: Path, standin_model: Path) -> None:
    """The real process: progress bar on stderr, exit code, output file."""
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", str(photo_dir / "grey.png"), "-o", str(tmp_path / "o"),
         "--format", "jpg", "--model", str(standin_model), "--threads", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "photo" in result.stderr and "1/1" in result.stderr
    assert size_of(tmp_path / "o" / "grey_color.jpg") == (160, 128)


def test_output_path_rules(tmp_path: Path) -> None:
    assert output_path(Path("a/b.jpg"), None, None) == Path("a/b_color.jpg")
    assert output_path(Path("a/b.JPEG"), None, None) == Path("a/b_color.jpeg")
    assert output_path(Path("a/b.bmp"), None, None) == Path("a/b_color.png")
    assert output_path(Path("a/b.gif"), Path("out"), "TIFF") == Path("out/b_color.tif")
    assert output_path(Path("a/b.png"), Path("out"), "jpg", pattern="{stem}-rechroma") == Path("out/b-rechroma.jpg")
    with pytest.raises(ValueError):
        output_path(Path("b.png"), None, "gif")
    with pytest.raises(ValueError):
        output_path(Path("b.png"), None, None, pattern="{name}")
    (tmp_path / "x_color.png").write_bytes(b"")
    assert unique_path(tmp_path / "x_color.png") == tmp_path / "x_color-2.png"
    assert unique_path(tmp_path / "y.png", {tmp_path / "y.png"}) == tmp_path / "y-2.png"
    sources = [tmp_path / "x.jpg", tmp_path / "x_color-3.jpg"]
    assert looks_like_output_of(tmp_path / "x_color-3.jpg", sources)
    assert not looks_like_output_of(tmp_path / "z_color.jpg", sources)


def test_interrupt_stops_cleanly(photo_dir: Path, tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl+C during the second photo: the first stays done, nothing half-written, exit 130, JSON written."""
    import engine.cli as cli

    real = cli.colorize_file
    calls = []

    def interrupted_on_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(cli, "colorize_file", interrupted_on_second)
    out = tmp_path / "out"
    code, stdout, _ = run(photo_dir, "-o", out, "--format", "png", "--json", tmp_path / "r.json")
    assert code == 130
    assert "done 1, skipped 0, failed 0" in stdout and "interrupted, 5 not done" in stdout
    assert [p.name for p in out.iterdir()] == ["alpha_color.png"]
    statuses = [f["status"] for f in json.loads((tmp_path / "r.json").read_text())["files"]]
    assert statuses == ["done", "cancelled", "pending", "pending", "pending", "pending"]
