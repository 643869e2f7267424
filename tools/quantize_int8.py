"""Static int8 (QDQ) quantisation of a Rechroma generator, calibrated on colour photos through the engine's own
input path (L* at the render size, mirrored margin), so the activation ranges are the ones the app feeds.

Calibrate on val-split photos only (e.g. work/tune), never on the held-out set that judges the result.
The rechroma.contract metadata is copied over, so the engine loads the output like any other model:

    python tools/quantize_int8.py work/tune --out work/quant/rechroma-v2-int8.onnx
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from engine import colour
from engine.model import Generator
from engine.photo_io import PhotoError, read_photo
from engine.pipeline import _reflect_pad, lightness_of, render_lightness

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
METHODS = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
           "percentile": CalibrationMethod.Percentile}


def engine_inputs(photos: list[Path], generator: Generator, render_size: int) -> list[np.ndarray]:
    """The N x 1 x H x W tensors the engine would feed the model for each photo (as pipeline.predict_ab does)."""
    contract = generator.contract
    tensors = []
    for path in photos:
        try:
            photo = read_photo(path)
        except PhotoError as exc:
            print(f"skip {path}: {exc}", file=sys.stderr)
            continue
        l_norm = colour.normalize_l(render_lightness(lightness_of(photo.pixels), render_size))
        padded, _ = _reflect_pad(l_norm, contract.size_multiple, margin=contract.size_multiple)
        tensors.append(np.ascontiguousarray(padded[None, None], dtype=np.float32))
    return tensors


class _Reader(CalibrationDataReader):
    def __init__(self, name: str, tensors: list[np.ndarray]):
        self._feeds = iter([{name: t} for t in tensors])

    def get_next(self):
        return next(self._feeds, None)


def last_convs(model: Path, count: int) -> list[str]:
    """Names of the last ``count`` Conv nodes (the decoder's output end, where int8 error shows as colour)."""
    convs = [n.name for n in onnx.load(str(model), load_external_data=False).graph.node if n.op_type == "Conv"]
    return convs[len(convs) - count:] if count else []


def quantize(model: Path, photos: list[Path], out: Path, *, render_size: int = 512, method: str = "minmax",
             per_channel: bool = True, keep_fp32: int = 0, reduce_range: bool = False,
             op_types: list[str] | None = None) -> Path:
    """Write the QDQ model to ``out``; ``keep_fp32`` last Conv layers stay in float."""
    generator = Generator(model, device="cpu")
    if generator.takes_hints:
        raise SystemExit("hint-taking models need hint calibration inputs; not supported here")
    tensors = engine_inputs(photos, generator, render_size)
    if not tensors:
        raise SystemExit("no calibration photos could be read")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        # Symbolic shape inference is for transformer fusions; ONNX shape inference is enough for a CNN.
        quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
        excluded = last_convs(prepared, keep_fp32)
        partial = Path(tmp) / "int8.onnx"
        quantize_static(str(prepared), str(partial), _Reader(generator.contract.input_name, tensors),
                        quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, per_channel=per_channel, calibrate_method=METHODS[method],
                        nodes_to_exclude=excluded, reduce_range=reduce_range, op_types_to_quantize=op_types)
        quantized = onnx.load(str(partial))
    source = onnx.load(str(model), load_external_data=False)
    kept = {p.key for p in quantized.metadata_props}
    for prop in source.metadata_props:
        if prop.key not in kept:
            quantized.metadata_props.append(prop)
    tmp_out = out.with_name(out.name + ".part")
    onnx.save(quantized, str(tmp_out))
    tmp_out.replace(out)  # no half-written model left behind
    Generator(out, device="cpu")  # loads and passes the engine's contract checks
    print(f"{out}: {out.stat().st_size / 2**20:.1f} MiB, calibrated on {len(tensors)} photos at {render_size}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("calibration", nargs="+", type=Path, help="folders of val-split colour photos")
    parser.add_argument("--model", type=Path, default=Path("resources/models/rechroma-v2.onnx"))
    parser.add_argument("--out", type=Path, default=Path("work/quant/rechroma-v2-int8.onnx"))
    parser.add_argument("--render-size", type=int, default=512)
    parser.add_argument("--method", choices=sorted(METHODS), default="minmax")
    parser.add_argument("--per-tensor", action="store_true", help="one weight scale per tensor, not per channel")
    parser.add_argument("--keep-fp32", type=int, default=0, metavar="N", help="leave the last N Conv layers in float")
    parser.add_argument("--ops", default=None, help="comma-separated op types to quantise (default: all)")
    parser.add_argument("--reduce-range", action="store_true", help="7-bit weights (for CPUs without VNNI)")
    args = parser.parse_args(argv)
    photos = sorted(p for folder in args.calibration
                    for p in (folder.rglob("*") if folder.is_dir() else [folder])
                    if p.suffix.lower() in IMAGE_SUFFIXES)
    if any("holdout" in p.parts for p in photos):
        print("refusing to calibrate on the held-out set", file=sys.stderr)
        return 2
    quantize(args.model, photos, args.out, render_size=args.render_size, method=args.method,
             per_channel=not args.per_tensor, keep_fp32=args.keep_fp32, reduce_range=args.reduce_range,
             op_types=args.ops.split(",") if args.ops else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
