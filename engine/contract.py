"""The model contract: what an ONNX generator must look like for the engine to use it.

The trainer writes :meth:`ModelContract.to_metadata` into the ONNX file's metadata; the engine reads it back
with :func:`ModelContract.from_metadata` and refuses any file that does not match, with a message that says
what is wrong. Keeping it in one place means trainer and engine cannot disagree about names or scaling.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from engine import colour

#: The metadata key holding the JSON contract.
METADATA_KEY = "rechroma.contract"
#: Bumped when the meaning of any field changes; the engine accepts only versions it knows.
#: Version 2 added the optional hint input (``hint_input_name``, ``hint_channels``); version 1 files, which
#: take no hints, keep loading unchanged.
CONTRACT_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
#: The hint input's channels, in order, and how each is scaled: a*b* / ab_scale, the rest 0..1. The engine
#: computes exactly these (engine.hint_mode.model_hint_inputs); a model asking for others is refused.
HINT_CHANNELS = (
    "propagated_a",  # the hints' a*b* spread along edges (engine.propagation), / ab_scale
    "propagated_b",
    "confidence",  # how strongly hints reach each pixel, 0..1
    "hint_a",  # the sparse hints themselves, a*b* / ab_scale where hint_mask is 1, else 0
    "hint_b",
    "hint_mask",  # 1 on hinted pixels, else 0
)


#: Fields version 1 did not have: a version 1 contract that carries them is malformed.
_HINT_FIELDS = {"hint_input_name", "hint_channels"}


class ModelContractError(ValueError):
    """The ONNX file is not a Rechroma generator (or one of another, incompatible, version)."""


@dataclass(frozen=True)
class ModelContract:
    """Names, shapes and scaling of the generator: L [N,1,H,W] in -> a*b* [N,2,H,W] out.

    A hint-taking generator (version 2 with ``hint_input_name`` set) has a second input, [N,6,H,W], whose
    channels are :data:`HINT_CHANNELS`; without hints the engine feeds it zeros (the automatic mode).
    """

    input_name: str = "L"
    output_name: str = "ab"
    #: H and W fed to the network must be multiples of this (the U-Net's total stride).
    size_multiple: int = 32
    #: Long side, in pixels, at which the engine runs the network unless told otherwise.
    default_render_size: int = 512
    #: input = (L* - l_center) / l_range ; a*b* = output * ab_scale
    l_center: float = colour.L_CENTER
    l_range: float = colour.L_RANGE
    ab_scale: float = colour.AB_SCALE
    version: int = CONTRACT_VERSION
    #: Free-form description of the model (name, training data) shown in the app's About box.
    model_name: str = "unnamed"
    model_version: str = "0"
    extra: dict = field(default_factory=dict)
    #: Name of the hint input tensor; empty for a model that takes no hints (all version 1 models).
    hint_input_name: str = ""
    #: The hint input's channels (must equal HINT_CHANNELS when the model takes hints).
    hint_channels: tuple[str, ...] = ()

    @property
    def takes_hints(self) -> bool:
        return bool(self.hint_input_name)

    def to_metadata(self) -> dict[str, str]:
        values = asdict(self)
        if self.version < 2:  # version 1 had no hint fields: write it as version 1 readers expect it
            if self.takes_hints:
                raise ModelContractError("a hint-taking model needs contract version 2 or later")
            values = {k: v for k, v in values.items() if k not in _HINT_FIELDS}
        return {METADATA_KEY: json.dumps(values, sort_keys=True)}

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> ModelContract:
        raw = metadata.get(METADATA_KEY)
        if raw is None:
            raise ModelContractError(
                f"not a Rechroma model: its metadata has no '{METADATA_KEY}' entry "
                "(export generators with the Rechroma trainer)"
            )
        try:
            values = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ModelContractError(f"model contract is not valid JSON: {exc}") from exc
        if not isinstance(values, dict):
            raise ModelContractError("model contract must be a JSON object")
        version = values.get("version")
        if version not in SUPPORTED_VERSIONS:
            raise ModelContractError(
                f"model contract version {version!r} is not supported (this Rechroma reads versions "
                f"{', '.join(map(str, SUPPORTED_VERSIONS))})"
            )
        known = {f for f in cls.__dataclass_fields__} - (_HINT_FIELDS if version < 2 else set())
        unknown = set(values) - known
        if unknown:
            raise ModelContractError(f"model contract has unknown fields: {sorted(unknown)}")
        if "hint_channels" in values:
            if not isinstance(values["hint_channels"], list):
                raise ModelContractError("model contract's hint_channels must be a list of names")
            values["hint_channels"] = tuple(values["hint_channels"])
        contract = cls(**values)
        contract.check_scaling()
        contract.check_hints()
        return contract

    def check_hints(self) -> None:
        """A hint-taking model must ask for exactly the channels this engine computes, in its order."""
        if not isinstance(self.hint_input_name, str):
            raise ModelContractError(f"model contract's hint_input_name must be a string, got {self.hint_input_name!r}")
        if self.takes_hints and tuple(self.hint_channels) != HINT_CHANNELS:
            raise ModelContractError(
                f"model's hint channels {list(self.hint_channels)} are not the ones this engine computes "
                f"({list(HINT_CHANNELS)})"
            )
        if self.hint_input_name == self.input_name and self.takes_hints:
            raise ModelContractError("model contract names the same tensor for L and for the hints")

    def check_scaling(self) -> None:
        """The engine's colour module fixes the scaling; a model trained with other constants is refused."""
        expected = (colour.L_CENTER, colour.L_RANGE, colour.AB_SCALE)
        got = (self.l_center, self.l_range, self.ab_scale)
        if any(abs(a - b) > 1e-6 for a, b in zip(expected, got, strict=True)):
            raise ModelContractError(
                f"model was trained with Lab scaling (l_center, l_range, ab_scale)={got}, "
                f"this engine uses {expected}"
            )
        if self.size_multiple < 1 or self.default_render_size < self.size_multiple:
            raise ModelContractError(
                f"bad sizes in contract: size_multiple={self.size_multiple}, "
                f"default_render_size={self.default_render_size}"
            )
