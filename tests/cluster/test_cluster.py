"""rechroma-cluster on a local Ray instance (2 CPUs): same outputs as rechroma-cli, a bad photo reported,
a killed worker's photo retried."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[cluster]')")

import cluster  # noqa: E402
import engine  # noqa: E402
from cluster.cli import MAX_ATTEMPTS, main, run_photos  # noqa: E402
from engine.cli import main as cli_main  # noqa: E402


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def local_ray():
    modules = [str(Path(engine.__file__).parent), str(Path(cluster.__file__).parent)]
    ray.init(num_cpus=2, include_dashboard=False, runtime_env={"py_modules": modules}, log_to_driver=False)
    yield
    ray.shutdown()


def test_cluster_output_equals_the_cli_and_a_bad_photo_is_reported(
    local_ray, photo_dir: Path, tmp_path: Path, standin_model: Path, capsys: pytest.CaptureFixture
) -> None:
    (photo_dir / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 50)
    hint = {"version": 1, "points": [{"x": 0.5, "y": 0.25, "color": "#c02020"}]}  # a sidecar, as the CLI reads
    (photo_dir / "grey.jpg.hints.json").write_text(json.dumps(hint))
    by_cli, by_cluster = tmp_path / "cli", tmp_path / "cluster"
    assert cli_main([str(photo_dir), "-o", str(by_cli), "--model", str(standin_model), "--threads", "1"]) == 1
    report = tmp_path / "report.json"
    code = main([str(photo_dir), "-o", str(by_cluster), "--model", str(standin_model), "--workers", "2",
                 "--json", str(report)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "cluster: 2 CPU actors" in out and "done 6, skipped 0, failed 1" in out
    assert f"error: {photo_dir / 'broken.jpg'}:" in err
    assert digest(by_cluster) == digest(by_cli) and len(digest(by_cli)) == 6  # same names, same bytes
    payload = json.loads(report.read_text())
    assert payload["summary"]["done"] == 6 and payload["summary"]["failed"] == 1 and payload["workers"] == 2
    failed = [f for f in payload["files"] if f["status"] == "failed"]
    assert [Path(f["input"]).name for f in failed] == ["broken.jpg"] and failed[0]["error"]
    done = {Path(f["input"]).name: f for f in payload["files"] if f["status"] == "done"}
    assert done["colour.jpg"]["size"] == [320, 240] and done["colour.jpg"]["output"].endswith("colour_color.jpg")
    assert done["grey.jpg"]["hints"] == 1 and done["colour.jpg"]["hints"] == 0
    assert not [p for p in tmp_path.rglob("*") if "tmp" in p.name and p.is_file()]
    # Rerun with --skip-existing: nothing to do, nothing touched.
    before = digest(by_cluster)
    assert main([str(photo_dir), "-o", str(by_cluster), "--model", str(standin_model), "--skip-existing"]) == 1
    assert "done 0, skipped 6, failed 1" in capsys.readouterr().out and digest(by_cluster) == before


def test_a_killed_workers_photo_is_retried(local_ray, photo_dir: Path, tmp_path: Path, standin_model: Path) -> None:
    """sepia.jpg kills its worker once and is redone; poison.jpg kills every worker and is given up on."""
    import dying_actor

    ray.cloudpickle.register_pickle_by_value(dying_actor)  # the workers cannot import the tests folder
    dying_actor.DyingOnce.victim = "sepia.jpg"
    dying_actor.DyingOnce.marker = str(tmp_path / "died")
    dying_actor.DyingOnce.always = "poison.jpg"
    shutil.copy(photo_dir / "colour.jpg", tmp_path / "poison.jpg")
    out = tmp_path / "out"
    out.mkdir()
    photos = sorted(p for p in photo_dir.iterdir() if p.name != "grey.png")  # one photo per output stem
    rows = [{"index": i, "src": str(p), "dst": str(out / f"{p.stem}_color.png")} for i, p in enumerate(photos)]
    poison = {"index": len(rows), "src": str(tmp_path / "poison.jpg"), "dst": str(tmp_path / "poison_color.png")}
    results = run_photos([*rows, poison], standin_model, workers=2, use_gpu=False, threads=1,
                         settings={"strength": 1.0, "render_size": None, "fmt": "png", "quality": 92},
                         actor_cls=dying_actor.DyingOnce)
    assert (tmp_path / "died").is_file()  # a worker really died on sepia.jpg
    gave_up = results.pop(len(rows))
    assert gave_up["status"] == "failed" and f"died on this photo {MAX_ATTEMPTS} times" in gave_up["error"]
    assert not (tmp_path / "poison_color.png").exists()
    assert sorted(results) == list(range(len(photos)))
    assert {r["status"] for r in results.values()} == {"done"}, [r for r in results.values() if r["status"] != "done"]
    by_cli = tmp_path / "cli"
    assert cli_main([*map(str, photos), "-o", str(by_cli), "--format", "png", "--model", str(standin_model),
                     "--threads", "1"]) == 0
    assert digest(out) == digest(by_cli)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
