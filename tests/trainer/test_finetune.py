"""Fine-tuning the shipped model on a folder: torch weights rebuilt from the ONNX file, the folder check,
the export under a new name with the base model's contract, and the model card's before/after table."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image
from standin_model import make_scene, to_grey

from engine.model import Generator
from trainer import finetune, train
from trainer.onnx_import import OnnxImportError, generator_from_onnx, parity_with_onnx

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "resources" / "models" / "rechroma-v2.onnx"
needs_shipped = pytest.mark.skipif(not SHIPPED.is_file(), reason="the shipped model is not in this checkout")


def photo_folder(root: Path, colour: int, grey: int = 0, duplicates: int = 0) -> Path:
    folder = root / "my photos"
    (folder / "box 2").mkdir(parents=True)
    for i in range(colour):
        sub = folder / "box 2" if i % 3 == 0 else folder
        Image.fromarray(make_scene(200, 260, seed=100 + i)).save(sub / f"p{i:02d}.jpg", quality=90)
    for i in range(grey):
        Image.fromarray(to_grey(make_scene(200, 260, seed=300 + i))).save(folder / f"grey{i}.jpg", quality=90)
    for i in range(duplicates):
        shutil.copy(folder / "p01.jpg", folder / f"copy{i}.jpg")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 40)
    return folder


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@needs_shipped
def test_generator_rebuilt_from_the_shipped_onnx_reproduces_it() -> None:
    generator, arch, contract = generator_from_onnx(SHIPPED)
    assert arch["decoder_channels"] == (192, 96, 48, 32) and arch["decoder_convs"] == (2, 2, 1, 1)
    assert contract.model_name == "rechroma"
    assert parity_with_onnx(generator, SHIPPED, (1, 1, 96, 128)) < 1e-5
    assert parity_with_onnx(generator, SHIPPED, (2, 1, 64, 160), seed=1) < 1e-5
    # Training mode keeps the folded norms frozen: fine-tuning starts from exactly the shipped model.
    lum = torch.rand(2, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        expected = generator.eval()(lum)
        got = generator.train()(lum)
    torch.testing.assert_close(got, expected)


def test_a_foreign_onnx_model_is_refused(standin_model: Path) -> None:
    with pytest.raises(OnnxImportError):
        generator_from_onnx(standin_model)


def test_split_depends_on_the_paths_only(tmp_path: Path) -> None:
    photos = [tmp_path / f"p{i}.jpg" for i in range(60)]
    split = finetune.split_photos(tmp_path, photos)
    assert sum(split) == 6
    assert finetune.split_photos(tmp_path, list(reversed(photos))) == list(reversed(split))
    assert sum(finetune.split_photos(tmp_path, photos[:50])) == finetune.MIN_VAL


@needs_shipped
def test_too_few_photos_are_refused_before_training(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = photo_folder(tmp_path, colour=20, grey=4)
    out = tmp_path / "out"
    assert train.main(["--data", str(folder), "--init", str(SHIPPED), "--out", str(out), "--minutes", "1"]) == 2
    err = capsys.readouterr().err
    assert "25 image files, 20 usable colour photos" in err and "dropped 4: near-grey" in err
    assert "only 20 usable colour photos" in err and "at least 50" in err
    assert not out.exists()


@needs_shipped
def test_finetune_exports_a_new_model_with_the_base_contract_and_a_card(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = photo_folder(tmp_path, colour=52, grey=3, duplicates=2)
    shipped_before = sha(SHIPPED)
    out = tmp_path / "out"
    args = ["--data", str(folder), "--init", str(SHIPPED), "--out", str(out), "--pretrain-steps", "2",
            "--gan-steps", "1", "--crop-size", "64", "--batch-size", "2", "--num-workers", "0", "--threads", "1",
            "--val-every", "2"]
    assert train.main(args) == 0
    err = capsys.readouterr().err
    assert "58 image files, 52 usable colour photos" in err
    assert "dropped 3: near-grey" in err and "dropped 2: near-duplicate" in err and "unreadable" in err
    assert "using 52 photos: 47 train, 5 val" in err

    model, card = out / "rechroma-v2-my-photos.onnx", out / "rechroma-v2-my-photos.md"
    assert model.is_file() and card.is_file() and sha(SHIPPED) == shipped_before
    base, tuned = Generator(SHIPPED, device="cpu"), Generator(model, device="cpu")
    # The contract survives: every field but the name, version and notes is the base model's.
    strip = {"model_name": "", "model_version": "", "extra": {}}
    assert dataclasses.replace(tuned.contract, **strip) == dataclasses.replace(base.contract, **strip)
    facts = tuned.contract.extra["fine_tuned"]
    assert facts["photos"] == {"found": 58, "used": 52, "train": 47, "val": 5}
    assert facts["base_model"]["sha256"] == shipped_before and facts["steps"] >= 2

    text = card.read_text()
    assert str(folder.resolve()) in text and "52 used (47 train, 5 val" in text
    assert "3 near-grey" in text and "2 near-duplicates" in text and "rechroma-v2.onnx" in text
    for row in ("| grey |", "| base: rechroma-v2 |", "| fine-tuned: rechroma-v2-my-photos |"):
        assert row in text
    assert "(5 photos)" in text and (out / "rechroma-v2-my-photos-val-sheet.jpg").is_file()
    assert len((out / "split.csv").read_text().splitlines()) == 1 + 52

    # A second fine-tune never replaces the first model.
    assert train.main(args) == 2
    assert "exists" in capsys.readouterr().err


def test_the_verdict_says_plainly_when_the_fine_tune_is_worse() -> None:
    def rows(de00: float) -> list[dict]:
        return [{"de00": de00, "psnr": 25.0, "ssim": 0.9, "cf_pred": 20.0, "cf_true": 30.0}] * 3

    worse = finetune.verdict({"grey": rows(10.0), "base": rows(6.0), "new": rows(6.8)}, "base", "new")
    better = finetune.verdict({"grey": rows(10.0), "base": rows(6.0), "new": rows(5.5)}, "base", "new")
    assert "NOT better" in worse and "6.80" in worse and "keep using the base model" in worse
    assert "is better" in better and "NOT" not in better
