"""A stand-in ONNX generator built with ``onnx.helper`` (no torch), so tests and the benchmark run before
the trained model ships; and synthetic test photos (:func:`make_scene`).

It honours the model contract: input "L" [N,1,H,W] float32 (normalised L*), output "ab" [N,2,H,W]
(normalised a*b* through tanh), symbolic N/H/W, contract JSON in the metadata. A small U-Net with
``levels`` stride-2 downsamplings and upsample+skip concatenations means H and W must be multiples of
2**levels, exactly the constraint the engine's padding has to honour. Convolutions pad by reflection
(``Pad`` mode="reflect") so a uniform input gives a uniform output: tests can then see whether the
engine's own padding leaks into the borders. Weights are random with a fixed seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from engine.contract import HINT_CHANNELS, ModelContract

#: Default contract of the stand-in (name "standin"; everything else as the engine expects).
STANDIN_CONTRACT = ModelContract(model_name="standin", model_version="1")
_OPSET = 17


@dataclass
class _GraphBuilder:
    """Accumulates nodes and initializers; names are generated so callers only think in layers."""

    rng: np.random.Generator
    reflect_pad: bool = True
    nodes: list = field(default_factory=list)
    inits: list = field(default_factory=list)
    count: int = 0
    params: int = 0

    def _name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}{self.count}"

    def const(self, array: np.ndarray, kind: str = "c") -> str:
        name = self._name(kind)
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def conv(self, x: str, cin: int, cout: int, *, k: int = 3, stride: int = 1, act: str | None = "Relu",
             gain: float = 2.0) -> str:
        # He-style init keeps activations in a sane range through the stack.
        w = self.rng.normal(0.0, np.sqrt(gain / (cin * k * k)), size=(cout, cin, k, k)).astype(np.float32)
        b = self.rng.normal(0.0, 0.05, size=(cout,)).astype(np.float32)
        self.params += w.size + b.size
        pad = k // 2
        if pad and self.reflect_pad:
            pads = self.const(np.array([0, 0, pad, pad, 0, 0, pad, pad], dtype=np.int64), "pads")
            padded = self._name("pad")
            self.nodes.append(helper.make_node("Pad", [x, pads], [padded], mode="reflect"))
            x, conv_pads = padded, [0, 0, 0, 0]
        else:
            conv_pads = [pad] * 4
        out = self._name("conv")
        self.nodes.append(
            helper.make_node("Conv", [x, self.const(w, "w"), self.const(b, "b")], [out],
                             kernel_shape=[k, k], strides=[stride, stride], pads=conv_pads)
        )
        if act is None:
            return out
        activated = self._name(act.lower())
        self.nodes.append(helper.make_node(act, [out], [activated]))
        return activated

    def upsample2(self, x: str) -> str:
        # Resize (not ConvTranspose k2s2, which would print a checkerboard on a uniform input).
        scales = self.const(np.array([1, 1, 2, 2], dtype=np.float32), "scales")
        out = self._name("up")
        self.nodes.append(helper.make_node("Resize", [x, "", scales], [out], mode="linear"))
        return out

    def concat(self, a: str, b: str) -> str:
        out = self._name("cat")
        self.nodes.append(helper.make_node("Concat", [a, b], [out], axis=1))
        return out


def _channels(width: int, levels: int) -> list[int]:
    return [width * 2**i for i in range(levels + 1)]


def estimate_macs(width: int, depth: int, levels: int, height: int, width_px: int) -> int:
    """Multiply-accumulates of one forward pass at height x width_px (what the benchmark sizes against)."""
    ch = _channels(width, levels)
    pixels = height * width_px
    macs = 9 * 1 * ch[0] * pixels
    for i in range(1, levels + 1):
        macs += 9 * ch[i - 1] * ch[i] * pixels // 4**i
    macs += depth * 9 * ch[levels] ** 2 * pixels // 4**levels
    for i in range(levels, 0, -1):
        macs += 9 * (ch[i] + ch[i - 1]) * ch[i - 1] * pixels // 4 ** (i - 1)
    macs += ch[0] * 2 * pixels
    return macs


def _save(graph, path: Path, metadata: dict[str, str]) -> Path:
    """A checked ONNX file with ``metadata`` (the contract), readable by every onnxruntime the project
    supports (IR version 8, for >= 1.17)."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)], producer_name="rechroma-tests")
    model.ir_version = 8
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def build_standin_model(
    path: Path,
    *,
    width: int = 8,
    depth: int = 1,
    levels: int = 2,
    seed: int = 0,
    output_gain: float = 0.4,
    metadata: dict[str, str] | None = None,
    contract: ModelContract = STANDIN_CONTRACT,
    input_name: str = "L",
    output_name: str = "ab",
    reflect_pad: bool = True,
) -> Path:
    """Write a stand-in generator to ``path`` and return it.

    ``width``/``depth``/``levels`` set its compute (see :func:`estimate_macs`); ``output_gain`` scales the
    last layer so a*b* are plausible (most within +-45, some out of gamut). ``metadata`` replaces the
    contract metadata entirely (pass ``{}`` for a model without any), and ``input_name``/``output_name``
    rename the graph's tensors: both exist so tests can build models that break the contract.
    """
    g = _GraphBuilder(rng=np.random.default_rng(seed), reflect_pad=reflect_pad)
    ch = _channels(width, levels)
    skips = [g.conv(input_name, 1, ch[0])]
    for i in range(1, levels + 1):
        skips.append(g.conv(skips[-1], ch[i - 1], ch[i], stride=2))
    x = skips[-1]
    for _ in range(depth):
        x = g.conv(x, ch[levels], ch[levels])
    for i in range(levels, 0, -1):
        x = g.conv(g.concat(g.upsample2(x), skips[i - 1]), ch[i] + ch[i - 1], ch[i - 1])
    logits = g.conv(x, ch[0], 2, k=1, act=None, gain=output_gain)
    g.nodes.append(helper.make_node("Tanh", [logits], [output_name]))

    graph = helper.make_graph(
        g.nodes,
        "rechroma_standin",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", 1, "H", "W"])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["N", 2, "H", "W"])],
        initializer=g.inits,
    )
    return _save(graph, path, contract.to_metadata() if metadata is None else metadata)


def build_wrong_rank_model(path: Path, contract: ModelContract = STANDIN_CONTRACT) -> Path:
    """A model with the right names and metadata but a rank-3 input [N,H,W]: the engine must refuse it."""
    nodes = [
        helper.make_node("Unsqueeze", ["L", "axes"], ["L4"]),
        helper.make_node("Concat", ["L4", "L4"], ["ab"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "rechroma_wrong_rank",
        [helper.make_tensor_value_info("L", TensorProto.FLOAT, ["N", "H", "W"])],
        [helper.make_tensor_value_info("ab", TensorProto.FLOAT, ["N", 2, "H", "W"])],
        initializer=[numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")],
    )
    return _save(graph, path, contract.to_metadata())


def count_parameters(path: Path) -> int:
    model = onnx.load(str(path))
    return int(sum(np.prod(t.dims) for t in model.graph.initializer if t.data_type == TensorProto.FLOAT))


def make_scene(height: int, width: int, seed: int = 0) -> np.ndarray:
    """An H x W x 3 uint8 RGB 'photo': smooth gradients, a few filled shapes and mild noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack(
        [
            0.5 + 0.4 * np.sin(xx / max(width, 1) * 3.0 + seed),
            0.5 + 0.4 * np.cos(yy / max(height, 1) * 2.0),
            0.3 + 0.5 * (xx + yy) / max(width + height, 1),
        ],
        axis=-1,
    )
    for _ in range(4):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        radius = rng.uniform(0.08, 0.25) * min(height, width)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 < radius**2
        rgb[disc] = rng.uniform(0.05, 0.95, size=3)
    rgb += rng.normal(0.0, 0.02, size=rgb.shape)
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_grey(rgb: np.ndarray) -> np.ndarray:
    return (rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32) + 0.5).astype(np.uint8)


def to_sepia(rgb: np.ndarray) -> np.ndarray:
    grey = to_grey(rgb).astype(np.float32)[..., None] / 255.0
    tint = np.array([1.0, 0.85, 0.65], dtype=np.float32)
    return (np.clip(grey * tint, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


#: A hint-taking stand-in's contract (version 2, the engine's hint channels).
HINT_STANDIN_CONTRACT = ModelContract(model_name="standin-hints", model_version="1", hint_input_name="hints",
                                      hint_channels=HINT_CHANNELS)


def build_hint_copy_model(path: Path, *, channels: tuple[int, int] = (3, 4),
                          contract: ModelContract = HINT_STANDIN_CONTRACT) -> Path:
    """A hint-taking generator whose a*b* output is a copy of two of its hint input channels (by default the
    sparse hints, 3 and 4), so a test sees exactly where the engine put each hint and with which a*b*.

    L is read too (times zero), so the graph keeps both inputs as the contract says.
    """
    nodes = [
        helper.make_node("Gather", ["hints", "which"], ["picked"], axis=1),
        helper.make_node("Mul", ["L", "zero"], ["l_zero"]),
        helper.make_node("Add", ["picked", "l_zero"], ["ab"]),
    ]
    graph = helper.make_graph(
        nodes,
        "rechroma_hint_copy",
        [helper.make_tensor_value_info("L", TensorProto.FLOAT, ["N", 1, "H", "W"]),
         helper.make_tensor_value_info("hints", TensorProto.FLOAT, ["N", len(HINT_CHANNELS), "H", "W"])],
        [helper.make_tensor_value_info("ab", TensorProto.FLOAT, ["N", 2, "H", "W"])],
        initializer=[numpy_helper.from_array(np.array(channels, dtype=np.int64), "which"),
                     numpy_helper.from_array(np.zeros(1, np.float32), "zero")],
    )
    return _save(graph, path, contract.to_metadata())
