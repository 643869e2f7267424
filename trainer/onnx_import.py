"""Rebuild the trainer's generator from a shipped ONNX model, so fine-tuning starts from what users have.

No separate torch checkpoint has to ship: the exporter names every node after its module
(``/decoder.0/decoder.0.0/decoder.0.0.0/Conv`` is ``decoder.0.0.0``), so each convolution's weights go
back to the module they came from, and the decoder's shape (stages, convolutions, widths) and the output
scale are read off the graph.

The export folded each BatchNorm into the convolution before it (eval mode, constant folding), so the file
holds conv weights and biases only. The rebuilt network keeps its BatchNorm layers as exact identities
that add the folded bias (mean 0, variance 1 - eps, scale 1), and fine-tuning keeps them frozen
(``freeze_norm``): batch statistics would otherwise renormalise the folded convolutions and throw away
what the model learnt. The result reproduces the ONNX output (checked by :func:`parity_with_onnx`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from engine import colour
from engine.contract import ModelContract
from trainer.colour_bins import warm_start_logits
from trainer.networks import UNetGenerator
from trainer.networks.efficientnet_lite import MBConv

_DECODER_CONV = re.compile(r"decoder\.(\d+)\.(\d+)\.0")
#: A convolution only the EfficientNet-Lite encoder has (MobileNetV2's are ``encoder.N.conv.*``).
_LITE_CONV = re.compile(r"encoder\.\d+\._depthwise_conv")
#: Graph ops that would mean a normalisation the export could not fold (GroupNorm decoders).
_UNFOLDED_NORMS = {"InstanceNormalization", "GroupNormalization", "BatchNormalization", "LayerNormalization"}


class OnnxImportError(ValueError):
    """The ONNX file is not a Rechroma generator whose torch weights can be rebuilt (message says why)."""


def _module_of(node: onnx.NodeProto) -> str:
    """``/encoder.1/conv/conv.0/conv.0.0/Conv`` -> ``encoder.1.conv.0.0``: each scope extends the one before
    it (``conv.0`` after ``conv``) or names a child attribute of it (``conv`` inside ``encoder.1``)."""
    parts = node.name.strip("/").split("/")[:-1]
    if not parts:
        raise OnnxImportError(f"node {node.name!r} does not name its module (not exported by rechroma-train?)")
    full, previous = parts[0], parts[0]
    for part in parts[1:]:
        full = full + part[len(previous):] if part.startswith(previous + ".") else f"{full}.{part}"
        previous = part
    return full


def _constant(model: onnx.ModelProto, name: str) -> np.ndarray:
    for init in model.graph.initializer:
        if init.name == name:
            return numpy_helper.to_array(init)
    for node in model.graph.node:
        if node.op_type == "Constant" and name in node.output:
            return numpy_helper.to_array(node.attribute[0].t)
    raise OnnxImportError(f"{name!r} is not a constant")


def conv_tensors(model: onnx.ModelProto) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Module name -> (weight, bias) of every convolution in the graph."""
    convs = {}
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        if len(node.input) != 3:
            raise OnnxImportError(f"convolution {node.name} has no bias (BatchNorm not folded?)")
        convs[_module_of(node)] = (_constant(model, node.input[1]), _constant(model, node.input[2]))
    return convs


def output_scale(model: onnx.ModelProto) -> float:
    """The constant multiplying tanh(head): output_scale x chroma_gain at export time."""
    tanh = [n.output[0] for n in model.graph.node if n.op_type == "Tanh"]
    for node in model.graph.node:
        if node.op_type == "Mul" and tanh and tanh[0] in node.input:
            other = next(i for i in node.input if i != tanh[0])
            return float(np.asarray(_constant(model, other)).reshape(-1)[0])
    raise OnnxImportError("no tanh(head) x scale at the output")


def _refuse_classification_head(model: onnx.ModelProto) -> None:
    if "Exp" in {n.op_type for n in model.graph.node}:  # the annealed mean; a regression head ends in Tanh
        raise OnnxImportError("this generator has a classification colour head, whose decoding constants "
                              "(temperature, chroma gain) are not rebuilt from ONNX: continue it from its "
                              "training checkpoint (rechroma-train --resume) instead")


def architecture(model: onnx.ModelProto) -> dict:
    """The generator options the graph was exported with (those that shape the network)."""
    if _UNFOLDED_NORMS & {n.op_type for n in model.graph.node}:
        raise OnnxImportError("this generator's decoder normalisation was not folded into its convolutions "
                              "(decoder_norm 'group'?): fine-tune it from its training checkpoint instead")
    _refuse_classification_head(model)
    stages: dict[int, dict[int, int]] = {}
    for name, (weight, _) in conv_tensors(model).items():
        match = _DECODER_CONV.fullmatch(name)
        if match:
            stages.setdefault(int(match[1]), {})[int(match[2])] = int(weight.shape[0])
    if sorted(stages) != list(range(len(stages))) or len(stages) not in (4, 5):
        raise OnnxImportError(f"decoder stages {sorted(stages)} are not a Rechroma U-Net's")
    channels, convs = [], []
    for stage in range(len(stages)):
        widths = stages[stage]
        if sorted(widths) != list(range(len(widths))) or len(set(widths.values())) != 1:
            raise OnnxImportError(f"decoder stage {stage} is not a stack of equal convolutions")
        channels.append(widths[0])
        convs.append(len(widths))
    encoder = "efficientnet_lite2" if any(_LITE_CONV.fullmatch(name) for name in conv_tensors(model)) \
        else "mobilenet_v2"
    return {"encoder": encoder, "decoder_channels": tuple(channels), "decoder_convs": tuple(convs),
            "decoder_norm": "batch", "output_scale": output_scale(model)}


def _norm_after_conv(generator: nn.Module) -> dict[str, nn.BatchNorm2d]:
    """Conv module name -> the BatchNorm that directly follows it (the pairs the export folded).

    Sequentials run their children in order; so do the EfficientNet blocks (``_expand_conv`` then ``_bn0``,
    ...), which register each convolution right before its norm."""
    pairs = {}
    for name, module in generator.named_modules():
        if isinstance(module, nn.Sequential | MBConv):
            kids = list(module.named_children())
            for (a_name, a), (_, b) in zip(kids, kids[1:], strict=False):
                if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                    pairs[f"{name}.{a_name}" if name else a_name] = b
    return pairs


@torch.no_grad()
def load_onnx_weights(generator: UNetGenerator, path: str | Path, warm_start_sigma: float = 10.0) -> None:
    """Put the ONNX file's weights into ``generator`` (built with :func:`architecture`'s options).

    A classification generator (``colour_head``) takes a regression model's encoder and decoder; its new
    head starts from the regression head as a Gaussian of ``warm_start_sigma`` a*b* units around the old
    colour (trainer.colour_bins.warm_start_logits), or random with ``warm_start_sigma`` 0."""
    model = onnx.load(str(path))
    _refuse_classification_head(model)
    convs = conv_tensors(model)
    norms = _norm_after_conv(generator)
    torch_convs = {n: m for n, m in generator.named_modules() if isinstance(m, nn.Conv2d)}
    if generator.colour_head == "classification" and "cls_head" not in convs and "head" in convs:
        # A regression model continued as a classification one: its decoder is reused, the head is new.
        regression_head = convs.pop("head")
        _start_classification_head(generator, regression_head, output_scale(model) * colour.AB_SCALE,
                                   warm_start_sigma)
        torch_convs.pop("cls_head")
    if set(torch_convs) != set(convs):
        missing, extra = sorted(set(torch_convs) - set(convs)), sorted(set(convs) - set(torch_convs))
        raise OnnxImportError(f"{path}: layers do not match the generator (missing {missing[:3]}, "
                              f"unexpected {extra[:3]})")
    for name, conv in torch_convs.items():
        weight, bias = convs[name]
        if tuple(weight.shape) != tuple(conv.weight.shape):
            raise OnnxImportError(f"{path}: {name} has shape {weight.shape}, expected {tuple(conv.weight.shape)}")
        conv.weight.copy_(torch.from_numpy(np.array(weight)))
        if name in norms:  # folded: the norm becomes "+ bias"
            norm = norms[name]
            norm.weight.fill_(1.0)
            norm.bias.copy_(torch.from_numpy(np.array(bias)))
            norm.running_mean.zero_()
            norm.running_var.fill_(1.0 - norm.eps)
        elif conv.bias is not None:
            conv.bias.copy_(torch.from_numpy(np.array(bias)))
        else:
            raise OnnxImportError(f"{path}: {name} carries a bias the generator has no place for")


def _start_classification_head(generator: UNetGenerator, regression_head: tuple[np.ndarray, np.ndarray],
                               ab_units: float, sigma: float) -> None:
    if sigma <= 0:
        return  # keep the random initialisation
    weight, bias = warm_start_logits(*regression_head, ab_units, generator.bin_centres.cpu().numpy(), sigma)
    generator.cls_head.weight.copy_(torch.from_numpy(weight))
    generator.cls_head.bias.copy_(torch.from_numpy(bias))


def generator_from_onnx(path: str | Path, **options) -> tuple[UNetGenerator, dict, ModelContract]:
    """(generator in eval mode, its architecture options, the file's contract). ``options`` go to the
    generator as well (e.g. ``freeze_encoder_stages``)."""
    path = Path(path)
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - onnx raises several types for unreadable files
        raise OnnxImportError(f"{path}: cannot read ONNX model ({exc})") from exc
    contract = ModelContract.from_metadata({p.key: p.value for p in model.metadata_props})
    if getattr(contract, "takes_hints", False):
        raise OnnxImportError(f"{path}: takes a hint input, which this trainer's generator has not "
                              "(hints work with any model through the engine's propagation)")
    arch = architecture(model)
    generator = UNetGenerator(pretrained=False, freeze_norm=True, **arch, **options)
    load_onnx_weights(generator, path)
    return generator.eval(), arch, contract


def parity_with_onnx(generator: UNetGenerator, path: str | Path, shape: tuple[int, ...] = (1, 1, 96, 128),
                     seed: int = 0) -> float:
    """Max |torch - onnxruntime| on a random L input: ~1e-6 when the rebuild is right."""
    import onnxruntime as ort

    lum = np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    was_training = generator.training
    generator.eval()
    with torch.no_grad():
        expected = generator(torch.from_numpy(lum)).numpy()
    generator.train(was_training)
    return float(np.abs(session.run(None, {session.get_inputs()[0].name: lum})[0] - expected).max())
