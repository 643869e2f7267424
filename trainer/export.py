"""Export a trained generator to ONNX for the engine: ``python -m trainer.export CHECKPOINT OUT.onnx``.

Input "L" [N,1,H,W] and output "ab" [N,2,H,W] (normalised, see engine.contract) with dynamic N/H/W, opset
17, and the ModelContract in the file's metadata. The file is only written once onnxruntime reproduces the
torch output at two sizes (one non-square) within 1e-3, and then published by engine.atomic_file, so a failed export
never leaves a file that the app would load. Needs the checkpoint only (the training data summary is in it).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from engine.atomic_file import atomic_write
from engine.contract import HINT_CHANNELS, METADATA_KEY, ModelContract
from trainer.checkpoint import load_checkpoint
from trainer.networks import SIZE_MULTIPLE, UNetGenerator
from trainer.options import Options

OPSET = 17
ENCODER_TITLES = {"mobilenet_v2": "MobileNetV2", "efficientnet_lite2": "EfficientNet-Lite2"}
PARITY_SHAPES = ((1, 1, 224, 320), (1, 1, 256, 192))
PARITY_TOLERANCE = 1e-3
MAX_MIB = 40.0


class ExportError(RuntimeError):
    """The export was refused (parity, size, contract); nothing was written."""


def generator_from_checkpoint(path: str | Path) -> tuple[UNetGenerator, dict]:
    """The checkpoint's generator in eval mode (no pretrained weights or pack needed) and its state."""
    from trainer.networks import build_generator  # late: keeps `python -m trainer.export --help` light

    state = load_checkpoint(path)
    opts = Options.from_dict(state["options"])
    generator = build_generator(opts, pretrained=False)
    generator.load_state_dict(state["G"])
    return generator.eval(), state


#: Name of a hint-taking generator's second input (engine.contract.ModelContract.hint_input_name).
HINT_INPUT = "hints"


def takes_hints(generator: torch.nn.Module) -> bool:
    return bool(getattr(generator, "takes_hints", False))


def random_hint_planes(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Hint channels with the contract's ranges (a*b* planes in [-1, 1], the rest 0..1, a sparse 0/1 mask)."""
    n, _, height, width = shape
    planes = rng.uniform(-1.0, 1.0, (n, len(HINT_CHANNELS), height, width)).astype(np.float32)
    planes[:, 2] = rng.uniform(0.0, 1.0, (n, height, width))
    planes[:, 5] = rng.uniform(0.0, 1.0, (n, height, width)) < 0.02
    planes[:, 3:5] *= planes[:, 5:6]
    return planes


def parity(session: ort.InferenceSession, generator: UNetGenerator, shapes: Sequence[tuple[int, ...]],
           seed: int = 0) -> float:
    """Max |torch - onnxruntime| over random L inputs of ``shapes`` (and random hint planes, for a hint-taking
    generator)."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    for shape in shapes:
        lum = rng.uniform(-1.0, 1.0, shape).astype(np.float32)
        feed = {"L": lum}
        if takes_hints(generator):
            feed[HINT_INPUT] = random_hint_planes(rng, shape)
        with torch.no_grad():
            expected = generator(*(torch.from_numpy(v) for v in feed.values())).numpy()
        got = session.run(["ab"], feed)[0]
        if got.shape != expected.shape:
            raise ExportError(f"ONNX output shape {got.shape} differs from torch {expected.shape} for {shape}")
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def export_onnx(
    generator: UNetGenerator,
    out_path: str | Path,
    contract: ModelContract,
    *,
    shapes: Sequence[tuple[int, ...]] = PARITY_SHAPES,
    tolerance: float = PARITY_TOLERANCE,
    max_mib: float = MAX_MIB,
) -> dict:
    """Export, embed the contract, check parity and size, then move the file into place. Returns a report."""
    if contract.size_multiple != SIZE_MULTIPLE:
        raise ExportError(f"contract size_multiple {contract.size_multiple} != network stride {SIZE_MULTIPLE}")
    contract.check_scaling()
    if takes_hints(generator) != contract.takes_hints:
        raise ExportError("the contract and the generator disagree about taking hints")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    generator = generator.eval().cpu().to(memory_format=torch.contiguous_format)
    scratch = tempfile.TemporaryDirectory(prefix=".rechroma-export-", dir=out_path.parent)
    tmp = Path(scratch.name) / "model.onnx"  # the exporter and onnx.save want a file name
    try:
        dummy: tuple[torch.Tensor, ...] = (torch.zeros(1, 1, SIZE_MULTIPLE * 4, SIZE_MULTIPLE * 4),)
        if contract.takes_hints:
            dummy += (torch.zeros(1, len(HINT_CHANNELS), SIZE_MULTIPLE * 4, SIZE_MULTIPLE * 4),)
        # The TorchScript exporter (dynamo=False): the dynamo one needs onnxscript, which we do not ship.
        # torch is pinned (pyproject), so its deprecation and constant-folding notes are just noise here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", UserWarning)
            _torch_export(generator, dummy, tmp, contract)
        model = onnx.load(str(tmp))
        for key, value in contract.to_metadata().items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        model.producer_name = "rechroma-trainer"
        model.doc_string = f"Rechroma colorizer {contract.model_name} v{contract.model_version}"
        onnx.checker.check_model(model)
        onnx.save(model, str(tmp))
        session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        ModelContract.from_metadata(session.get_modelmeta().custom_metadata_map)  # round-trips?
        diff = parity(session, generator, shapes)
        if not diff <= tolerance:
            raise ExportError(f"torch/onnxruntime parity failed: max |diff| {diff:.2e} > {tolerance:.0e}")
        size_mib = tmp.stat().st_size / 2**20
        if size_mib > max_mib:
            raise ExportError(f"model file is {size_mib:.1f} MiB, over the {max_mib:.0f} MiB limit")
        del session
        with open(tmp, "rb") as checked:
            atomic_write(out_path, lambda handle: shutil.copyfileobj(checked, handle), replace=True)
    finally:
        scratch.cleanup()
    return {"path": out_path, "size_mib": size_mib, "max_abs_diff": diff, "shapes": list(shapes)}


def _torch_export(generator: UNetGenerator, dummy: tuple[torch.Tensor, ...], path: Path,
                  contract: ModelContract) -> None:
    dynamic = {0: "N", 2: "H", 3: "W"}
    inputs = [contract.input_name, *([contract.hint_input_name] if contract.takes_hints else [])]
    torch.onnx.export(
        generator,
        dummy,
        str(path),
        dynamo=False,
        opset_version=OPSET,
        input_names=inputs,
        output_names=[contract.output_name],
        dynamic_axes={**{name: dynamic for name in inputs}, contract.output_name: dynamic},
        do_constant_folding=True,
    )


def contract_from_state(state: dict, name: str, version: str) -> ModelContract:
    opts = state.get("options", {})
    extra = {
        "training_data": state.get("data_summary") or {},
        "training": {
            "steps": int(state.get("step", 0)),
            "phase": state.get("phase", ""),
            "crop_size": opts.get("crop_size"),
            "pretrain_steps": opts.get("pretrain_steps"),
            "gan_steps": opts.get("gan_steps"),
            "gan_loss": opts.get("gan_loss"),
            "best_metric": opts.get("best_metric"),
            "best": state.get("best"),
        },
        "architecture": f"pix2pix U-Net, ImageNet {ENCODER_TITLES[opts.get('encoder', 'mobilenet_v2')]} encoder, "
                        "70x70 PatchGAN",
        "encoder": opts.get("encoder", "mobilenet_v2"),
    }
    if not opts.get("hint_inputs"):
        return ModelContract(model_name=name, model_version=version, extra=extra)
    extra["architecture"] = ("automatic model (frozen, from init_model) + learned refinement of the engine's "
                             "hint propagation (trainer.networks.hint_generator)")
    extra["hints"] = {"init_model": Path(opts.get("init_model", "")).name,
                      "geometric_p": opts.get("hint_geometric_p"), "max_points": opts.get("hint_max_points")}
    return ModelContract(model_name=name, model_version=version, extra=extra, hint_input_name=HINT_INPUT,
                         hint_channels=HINT_CHANNELS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainer.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="best.pt / last.pt from rechroma-train")
    parser.add_argument("out", type=Path, help="ONNX file to write, e.g. resources/models/rechroma-v2.onnx")
    parser.add_argument("--name", default="rechroma", help="model name shown in the app (default: rechroma)")
    parser.add_argument("--version", default="1", help="model version (default: 1)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    parser.add_argument("--chroma-gain", type=float, default=1.0,
                        help="scale a*b* by this factor, calibrated on the val split (rechroma-eval --strengths)")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.overwrite:
        print(f"export: {args.out} exists (pass --overwrite to replace it)", file=sys.stderr)
        return 2
    try:
        generator, state = generator_from_checkpoint(args.checkpoint)
        generator.chroma_gain = args.chroma_gain
        contract = contract_from_state(state, args.name, args.version)
        contract.extra["chroma_gain"] = args.chroma_gain
        result = export_onnx(generator, args.out, contract)
    except (ExportError, FileNotFoundError, ValueError, KeyError) as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 1
    print(
        f"wrote {result['path']}: {result['size_mib']:.2f} MiB, step {state.get('step')}, parity max |diff| "
        f"{result['max_abs_diff']:.2e} at {', '.join('x'.join(map(str, s)) for s in result['shapes'])}; "
        f"metadata key {METADATA_KEY}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
