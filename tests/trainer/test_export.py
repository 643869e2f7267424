"""ONNX export: parity with torch, dynamic sizes, the contract in metadata, refusal leaves no file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from engine import colour
from engine.contract import ModelContract
from trainer import export
from trainer.checkpoint import load_checkpoint
from trainer.networks import UNetGenerator
from trainer.options import Options
from trainer.pix2pix import Trainer

TINY = dict(decoder_channels=(32, 24, 16, 16, 8), decoder_convs=(1, 1, 1, 1, 1))


@pytest.fixture(scope="module")
def tiny_generator() -> UNetGenerator:
    torch.manual_seed(3)
    g = UNetGenerator(pretrained=False, **TINY)
    # A few train-mode passes give the BatchNorms non-trivial running statistics, as a trained model has.
    with torch.no_grad():
        for _ in range(3):
            g.train()(torch.rand(2, 1, 64, 64) * 2 - 1)
    return g.eval()


@pytest.fixture(scope="module")
def exported(tiny_generator: UNetGenerator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "tiny.onnx"
    contract = ModelContract(model_name="tiny", model_version="0.1", extra={"training_data": {"photos": 6}})
    report = export.export_onnx(tiny_generator, out, contract)
    assert report["max_abs_diff"] <= 1e-3 and report["size_mib"] < 40
    return out


def test_onnx_matches_torch_at_dynamic_sizes(exported: Path, tiny_generator: UNetGenerator) -> None:
    session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["L"]
    assert [o.name for o in session.get_outputs()] == ["ab"]
    rng = np.random.default_rng(1)
    for shape in ((1, 1, 224, 320), (1, 1, 256, 192), (3, 1, 64, 32)):
        lum = rng.uniform(-1, 1, shape).astype(np.float32)
        with torch.no_grad():
            expected = tiny_generator(torch.from_numpy(lum)).numpy()
        got = session.run(["ab"], {"L": lum})[0]
        assert got.shape == (shape[0], 2, shape[2], shape[3])
        np.testing.assert_allclose(got, expected, atol=1e-3)


def test_contract_is_in_the_metadata(exported: Path) -> None:
    session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    contract = ModelContract.from_metadata(session.get_modelmeta().custom_metadata_map)
    assert (contract.model_name, contract.model_version) == ("tiny", "0.1")
    assert contract.size_multiple == 32 and contract.default_render_size == 512
    assert contract.extra["training_data"] == {"photos": 6}


def test_engine_generator_accepts_the_export(exported: Path, tiny_generator: UNetGenerator) -> None:
    from engine.model import Generator

    engine_gen = Generator(exported, device="cpu", threads=1)
    lum = np.random.default_rng(2).uniform(-1, 1, (96, 160)).astype(np.float32)
    ab = engine_gen.predict_ab(lum)
    with torch.no_grad():
        expected = tiny_generator(torch.from_numpy(lum)[None, None])[0].numpy().transpose(1, 2, 0)
    np.testing.assert_allclose(ab, colour.denormalize_ab(expected), atol=0.2)  # 1e-3 x 110 (ab scale)


def test_failed_parity_writes_nothing(tiny_generator: UNetGenerator, tmp_path: Path) -> None:
    out = tmp_path / "refused.onnx"
    with pytest.raises(export.ExportError, match="parity"):
        export.export_onnx(tiny_generator, out, ModelContract(), tolerance=-1.0)
    assert list(tmp_path.iterdir()) == []


def test_oversized_model_is_refused(tiny_generator: UNetGenerator, tmp_path: Path) -> None:
    with pytest.raises(export.ExportError, match="MiB"):
        export.export_onnx(tiny_generator, tmp_path / "big.onnx", ModelContract(), max_mib=0.01)
    assert list(tmp_path.iterdir()) == []


def test_export_command_from_a_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI needs the checkpoint only (no pack, no ImageNet weights)."""
    opts = Options(pretrained=False, encoder_weights=str(tmp_path / "absent.pth"), **TINY)
    trainer = Trainer(opts)
    trainer.data_summary = {"data": "pack.npz", "photos_train": 10}
    trainer.save(tmp_path / "best.pt")
    assert load_checkpoint(tmp_path / "best.pt")["step"] == 0
    out = tmp_path / "models" / "rechroma-test.onnx"
    assert export.main([str(tmp_path / "best.pt"), str(out), "--name", "rechroma-test", "--version", "2"]) == 0
    assert "MiB" in capsys.readouterr().out
    meta = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).get_modelmeta()
    contract = ModelContract.from_metadata(meta.custom_metadata_map)
    assert contract.model_name == "rechroma-test" and contract.model_version == "2"
    assert contract.extra["training_data"] == {"data": "pack.npz", "photos_train": 10}
    before = out.stat().st_mtime_ns
    assert export.main([str(tmp_path / "best.pt"), str(out)]) == 2  # exists: not replaced
    assert out.stat().st_mtime_ns == before
    assert export.main([str(tmp_path / "missing.pt"), str(tmp_path / "x.onnx")]) == 1
    # As documented: `python -m trainer.export` (module run as __main__, where definition order matters).
    run = subprocess.run([sys.executable, "-m", "trainer.export", str(tmp_path / "best.pt"), str(tmp_path / "m.onnx")],
                         cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "m.onnx").is_file()


def test_export_chroma_gain_scales_the_output(tmp_path) -> None:
    import numpy as np
    import onnxruntime as ort

    from engine.contract import ModelContract
    from trainer.export import export_onnx
    from trainer.networks import UNetGenerator

    torch.manual_seed(0)
    generator = UNetGenerator(pretrained=False, decoder_channels=(32, 24, 16, 16), decoder_convs=(1, 1, 1, 1)).eval()
    lum = np.random.default_rng(0).uniform(-1, 1, (1, 1, 64, 96)).astype(np.float32)
    outputs = []
    for gain in (1.0, 1.5):
        generator.chroma_gain = gain
        path = tmp_path / f"gain{gain}.onnx"
        export_onnx(generator, path, ModelContract(model_name="t"))
        outputs.append(ort.InferenceSession(str(path)).run(["ab"], {"L": lum})[0])
    np.testing.assert_allclose(outputs[1], 1.5 * outputs[0], rtol=1e-4, atol=1e-5)
