"""The generator: one onnxruntime session, checked against the model contract, reused for every photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine import colour
from engine.cancel import Cancelled, CancelToken
from engine.contract import ModelContract, ModelContractError
from engine.devices import DEVICES as DEVICES  # re-exported: callers have imported it from here
from engine.resources import MODELS_DIR_ENV, models_dir
from engine.thread_pool import available_cpu_count as available_cpu_count  # re-exported

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


class NoModelError(RuntimeError):
    """No generator is installed (or the given path does not exist)."""


class DeviceError(RuntimeError):
    """The requested device cannot be used (e.g. "cuda" without a working CUDA provider)."""


def how_to_get_a_model() -> str:
    return (
        "train one with `rechroma-train` (it exports the generator to resources/models/), "
        f"pass --model PATH, or set {MODELS_DIR_ENV} to a folder holding a Rechroma .onnx model"
    )


def default_model_path() -> Path | None:
    """The newest ``*.onnx`` in the models folder, or None when there is none."""
    folder = models_dir()
    if not folder.is_dir():
        return None
    candidates = [p for p in folder.glob("*.onnx") if p.is_file()]
    return max(candidates, key=lambda p: (p.stat().st_mtime, p.name)) if candidates else None


def _onnxruntime():
    """onnxruntime, imported when a model is first loaded: importing the engine or the CLI (``--help``, a usage
    error) does not pay its 35-60 ms."""
    import onnxruntime  # noqa: PLC0415 - lazily, see above

    return onnxruntime


def cuda_available() -> bool:
    """Whether this onnxruntime build offers the CUDA provider (it may still fail to load)."""
    return CUDA in _onnxruntime().get_available_providers()


def _providers_for(device: str) -> list:
    if device not in DEVICES:
        raise DeviceError(f"unknown device {device!r}: choose one of {', '.join(DEVICES)}")
    has_cuda = cuda_available()
    if device == "cuda" and not has_cuda:
        raise DeviceError(
            "device 'cuda' requested but this onnxruntime has no CUDA support "
            "(install the GPU build: pip install -e '.[gpu]'), or use --device cpu"
        )
    if device == "cpu" or not has_cuda:
        return [CPU]
    # HEURISTIC avoids cuDNN's exhaustive search, which costs seconds on every new input size.
    return [(CUDA, {"cudnn_conv_algo_search": "HEURISTIC"}), CPU]


class Generator:
    """A Rechroma generator loaded from an ONNX file (default: the newest one in the models folder)."""

    def __init__(self, path: Path | str | None = None, device: str = "auto", threads: int | None = None, *,
                 flip_average: bool = False):
        """``flip_average``: test-time augmentation, the mean of the a*b* predicted for the photo and for its
        mirror image (mirrored back); about twice the network's time, off by default (model card, "Speed")."""
        self.flip_average = flip_average
        if path is None:
            path = default_model_path()
            if path is None:
                raise NoModelError(f"no colorization model installed (looked in {models_dir()}): "
                                   + how_to_get_a_model())
        self.path = Path(path)
        if not self.path.is_file():
            raise NoModelError(f"model file not found: {self.path}; " + how_to_get_a_model())
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")

        ort = _onnxruntime()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or available_cpu_count()
        options.inter_op_num_threads = 1
        # Idle workers spinning after each run steal the cores OpenCV needs for the merge that follows
        # (measured: 12 MP end to end 0.68 s -> 0.52 s on 2 cores).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only: provider fallback warnings are reported by us
        providers = _providers_for(device)
        try:
            self._session = ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own pybind exception types for bad files
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelContractError(f"{self.path.name} is not a usable ONNX model: {reason}") from exc

        self.providers: list[str] = self._session.get_providers()
        #: The device really in use: onnxruntime silently falls back to CPU when CUDA fails to load.
        self.device = "cuda" if self.providers and self.providers[0] == CUDA else "cpu"
        if device == "cuda" and self.device != "cuda":
            raise DeviceError(
                "device 'cuda' requested but the CUDA provider failed to load (check the CUDA and cuDNN "
                "libraries onnxruntime-gpu needs), or use --device cpu"
            )
        metadata = self._session.get_modelmeta().custom_metadata_map
        try:
            self.contract = ModelContract.from_metadata(metadata)
        except ModelContractError as exc:
            raise ModelContractError(f"{self.path.name}: {exc}") from exc
        self._check_graph()

    def _check_graph(self) -> None:
        """The graph must have exactly the contract's tensors: L [N,1,H,W] float in (plus the hint input
        [N,6,H,W] for a hint-taking model), ab [N,2,H,W] float out."""
        c = self.contract
        inputs = [(c.input_name, 1)]
        if c.takes_hints:
            inputs.append((c.hint_input_name, len(c.hint_channels)))
        for kind, tensors, expected in (
            ("input", self._session.get_inputs(), inputs),
            ("output", self._session.get_outputs(), [(c.output_name, 2)]),
        ):
            names = [t.name for t in tensors]
            wanted = [name for name, _ in expected]
            if sorted(names) != sorted(wanted):
                what = f"one {kind} named {wanted[0]!r}" if len(wanted) == 1 else f"{kind}s named {wanted}"
                raise ModelContractError(f"{self.path.name}: the contract expects {what}, the graph has {names}")
            by_name = {t.name: t for t in tensors}
            for name, channels in expected:
                self._check_tensor(kind, by_name[name], channels)

    def _check_tensor(self, kind: str, tensor, channels: int) -> None:
        name = tensor.name
        if tensor.type != "tensor(float)":
            raise ModelContractError(f"{self.path.name}: {kind} {name!r} is {tensor.type}, expected float32")
        shape = tensor.shape
        if len(shape) != 4:
            raise ModelContractError(
                f"{self.path.name}: {kind} {name!r} has rank {len(shape)} {shape}, expected [N,{channels},H,W]"
            )
        if isinstance(shape[1], int) and shape[1] != channels:
            raise ModelContractError(f"{self.path.name}: {kind} {name!r} has {shape[1]} channels, expected {channels}")

    @property
    def takes_hints(self) -> bool:
        """Whether the model reads hint planes itself (else hint mode is the propagation over its colour)."""
        return self.contract.takes_hints

    @property
    def name(self) -> str:
        """Human-readable model name with version, e.g. "rechroma-mnv2 v3"."""
        return f"{self.contract.model_name} v{self.contract.model_version}"

    @property
    def provider(self) -> str:
        return self.providers[0] if self.providers else CPU

    def __repr__(self) -> str:
        return f"Generator({self.path.name!r}, {self.name}, device={self.device} ({self.provider}))"

    def predict_ab(self, l_norm: np.ndarray, cancel: CancelToken | None = None,
                   hint_inputs: np.ndarray | None = None) -> np.ndarray:
        """H x W normalised L (sides multiples of ``contract.size_multiple``) -> H x W x 2 float32 a*b*.

        ``hint_inputs`` (H x W x 6, the contract's hint channels) go to a hint-taking model; such a model
        without them gets zeros, its automatic mode. A model that takes no hints refuses them: hints are
        never dropped silently (the pipeline blends them in itself for such models).
        """
        l_norm = np.asarray(l_norm, dtype=np.float32)
        multiple = self.contract.size_multiple
        if l_norm.ndim != 2:
            raise ValueError(f"predict_ab expects an H x W array, got shape {l_norm.shape}")
        if l_norm.shape[0] % multiple or l_norm.shape[1] % multiple:
            raise ValueError(f"predict_ab input {l_norm.shape} is not a multiple of {multiple}")
        if cancel is not None:
            cancel.raise_if_cancelled()
        feed = {self.contract.input_name: np.ascontiguousarray(l_norm[None, None])}
        if self.takes_hints:
            channels = len(self.contract.hint_channels)
            if hint_inputs is None:
                hint_inputs = np.zeros((*l_norm.shape, channels), np.float32)
            if hint_inputs.shape != (*l_norm.shape, channels):
                raise ValueError(f"hint inputs {hint_inputs.shape} do not match {(*l_norm.shape, channels)}")
            feed[self.contract.hint_input_name] = np.ascontiguousarray(
                hint_inputs.astype(np.float32, copy=False).transpose(2, 0, 1)[None])
        elif hint_inputs is not None:
            raise ValueError(f"{self.name} takes no hint inputs")
        if self.flip_average:
            out = self._flip_averaged(feed, cancel)
        else:
            out = self._run(feed, cancel)[0]
        return colour.denormalize_ab(np.ascontiguousarray(out.transpose(1, 2, 0)))

    def _run(self, feed: dict[str, np.ndarray], cancel: CancelToken | None) -> np.ndarray:
        try:
            (out,) = self._session.run(
                [self.contract.output_name], feed, cancel.run_options if cancel is not None else None
            )
        except Exception as exc:
            if cancel is not None and cancel.cancelled:
                raise Cancelled("cancelled") from exc
            raise
        if cancel is not None:
            cancel.raise_if_cancelled()
        return out

    def _flip_averaged(self, feed: dict[str, np.ndarray], cancel: CancelToken | None) -> np.ndarray:
        """[2, H, W] mean of the model's output on the inputs and on their mirror images, mirrored back: one
        batch of two where the model takes any batch size, else two runs."""
        mirrored = {name: np.ascontiguousarray(planes[..., ::-1]) for name, planes in feed.items()}
        batch = self._session.get_inputs()[0].shape[0]
        if isinstance(batch, int) and batch == 1:
            plain, flipped = self._run(feed, cancel)[0], self._run(mirrored, cancel)[0]
        else:
            both = {name: np.concatenate([feed[name], mirrored[name]]) for name in feed}
            plain, flipped = self._run(both, cancel)
        return (plain + flipped[..., ::-1]) * np.float32(0.5)
