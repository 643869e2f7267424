"""The messages between the GUI thread and the engine worker: jobs, their results, and the model's facts.

Plain data, no Qt: the controller, the view, the dialogs and the worker all speak in these, so none of them
imports another just for a type.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from desktop.hint_points import Points
from engine.cancel import CancelToken
from engine.pipeline import Prediction


@dataclass(frozen=True)
class ModelRequest:
    path: Path | None
    device: str = "auto"


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    device: str
    path: Path
    default_render_size: int
    size_multiple: int
    #: Whether the engine can use colour hints with this model (the hint tool is off when not). Hint mode
    #: serves every model the engine loads: a hint-taking one reads them, any other gets them propagated
    #: over its own colour (engine.hint_mode); a Generator that reports otherwise turns the tool off.
    accepts_hints: bool = True
    #: The engine's name for the model ("rechroma v2"), as written into exported photos' provenance.
    label: str = ""
    #: The model itself reads hint planes (contract version 2 with a hint input).
    takes_hints: bool = False


@dataclass
class Preview:
    """What the compare view shows: the original and (once colorized) a preview-size Prediction."""

    before: np.ndarray
    prediction: Prediction | None
    original_size: tuple[int, int]
    alpha: np.ndarray | None = None  # transparency at the size of ``before`` (shown over a checkerboard)


@dataclass
class ColorizeJob:
    #: What the worker's result and failure signals call this kind of job.
    kind: ClassVar[str] = "colorize"
    item_id: str
    path: Path
    render_size: int | None
    cancel: CancelToken = field(default_factory=CancelToken)
    #: Build a preview with the result (only for the photo on show: a batch skips the work otherwise).
    want_preview: bool = True
    hints: Points = ()


@dataclass
class HintJob:
    """Re-run the model on one colorized photo with its hints; only the newest job per photo matters."""

    item_id: str
    path: Path
    render_size: int | None
    hints: Points
    generation: int
    cancel: CancelToken = field(default_factory=CancelToken)
    requested_at: float = field(default_factory=time.perf_counter)
    #: Keep the result as the photo's own (False while a point is being dragged: only shown, not saved).
    keep: bool = True


@dataclass
class HintResult:
    item_id: str
    generation: int
    hints: Points
    ab: np.ndarray  #: a*b* with the hints: at half the render size for the quick stage, else at the render size
    requested_at: float
    final: bool = True  #: the run at the photo's render size (else the quick half-size one before it)


@dataclass
class ColorizeResult:
    item_id: str
    ab_file: Path
    preview: Preview | None
    size: tuple[int, int]
    source_stamp: tuple[int, int]
    seconds: float
    device: str
    hints: Points = ()


@dataclass(frozen=True)
class ExportOptions:
    out_dir: Path
    fmt: str | None = "jpg"  #: None: each photo keeps its own format (as the CLI does)
    quality: int = 92
    keep_metadata: bool = True
    pattern: str = "{stem}_color"


@dataclass
class ExportJob:
    kind: ClassVar[str] = "export"
    item_id: str
    path: Path
    ab_file: Path
    strength: float
    source_stamp: tuple[int, int] | None
    options: ExportOptions
    description: str
    cancel: CancelToken = field(default_factory=CancelToken)
