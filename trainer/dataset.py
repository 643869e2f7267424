"""Training data: photos from the pack (or a folder) -> (L_norm, ab_norm) tensors via engine.colour.

Sources:

* the pack ``work/data/rechroma-photos.npz`` (keys jpeg, offsets, split, people, weight, source, name; see the
  pack agreement in the trainer issue), read with ``np.load`` and decoded with ``cv2.imdecode``;
* any folder of colour photos (jpg/png/webp, recursive), split train/val by a hash of the relative path.

Reproducibility: batches come from :class:`WeightedStepBatchSampler`, which derives every batch from
(seed, step) alone, and every sample carries its own augmentation seed. Resuming at step k therefore yields
exactly the batches an uninterrupted run would have, whatever ``num_workers`` is.
"""

from __future__ import annotations

import hashlib
import signal
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from engine import colour
from engine.photo_finder import PHOTO_SUFFIXES, find_photos
from trainer import hint_sim
from trainer.composite import composite
from trainer.corpus.cutouts import read_cutouts
from trainer.corpus.pack import PEOPLE_WEIGHT
from trainer.degrade import Degrader
from trainer.torch_colour import ab_target

PACK_KEYS = ("jpeg", "offsets", "split", "people", "weight", "source", "name")
#: Folder photos are downscaled to this short side on load, like the pack's photos.
FOLDER_MAX_SHORT_SIDE = 384
TRAIN, VAL = 0, 1
#: Simulated points per validation crop, in turn: the evaluation's curve (trainer.hint_eval).
VAL_HINT_COUNTS = (0, 1, 3, 10, 30)


class DataError(ValueError):
    """The pack or folder cannot be used for training (message says why)."""


class PhotoDecodeError(ValueError):
    """One photo cannot be decoded."""


def decode_rgb(data: np.ndarray, what: str) -> np.ndarray:
    """Encoded image bytes -> H x W x 3 uint8 RGB."""
    bgr = cv2.imdecode(np.asarray(data, dtype=np.uint8), cv2.IMREAD_COLOR) if len(data) else None
    if bgr is None:
        raise PhotoDecodeError(f"{what}: cannot decode image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@dataclass
class PhotoSource:
    """Photos addressable by index, with split / weight / people / provenance per photo."""

    names: np.ndarray
    split: np.ndarray
    weight: np.ndarray
    people: np.ndarray
    sources: np.ndarray
    origin: str

    def __len__(self) -> int:
        return len(self.names)

    def load(self, i: int) -> np.ndarray:
        raise NotImplementedError

    def indices(self, split: int) -> np.ndarray:
        return np.flatnonzero(self.split == split)

    def summary(self) -> dict:
        """Short description of the training data, stored in checkpoints and the ONNX contract."""
        train = self.indices(TRAIN)
        return {
            "data": Path(self.origin).name,
            "photos_train": int(len(train)),
            "photos_val": int(len(self.indices(VAL))),
            "people_fraction_train": round(float(self.people[train].mean()) if len(train) else 0.0, 3),
            "sources": dict(sorted(Counter(str(s) for s in self.sources).items())),
        }


class PackSource(PhotoSource):
    def __init__(self, path: Path) -> None:
        try:
            with np.load(path, allow_pickle=False) as pack:
                missing = [k for k in PACK_KEYS if k not in pack.files]
                if missing:
                    raise DataError(f"{path}: not a Rechroma training pack, missing arrays {missing}")
                arrays = {k: pack[k] for k in PACK_KEYS}
        except (OSError, ValueError) as exc:
            if isinstance(exc, DataError):
                raise
            raise DataError(f"{path}: cannot read training pack: {exc}") from exc
        n = len(arrays["offsets"]) - 1
        offsets = arrays["offsets"].astype(np.int64)
        if n < 1 or offsets[0] != 0 or offsets[-1] != len(arrays["jpeg"]) or np.any(np.diff(offsets) < 0):
            raise DataError(f"{path}: offsets do not describe the jpeg array")
        for key in ("split", "people", "weight", "source", "name"):
            if len(arrays[key]) != n:
                raise DataError(f"{path}: '{key}' has {len(arrays[key])} entries for {n} photos")
        super().__init__(
            names=arrays["name"],
            split=arrays["split"].astype(np.uint8),
            weight=arrays["weight"].astype(np.float64),
            people=arrays["people"].astype(np.uint8),
            sources=arrays["source"],
            origin=str(path),
        )
        self.jpeg = arrays["jpeg"]
        self.offsets = offsets

    def load(self, i: int) -> np.ndarray:
        return decode_rgb(self.jpeg[self.offsets[i] : self.offsets[i + 1]], f"pack photo {self.names[i]}")


class FolderSource(PhotoSource):
    def __init__(self, root: Path, val_fraction: float) -> None:
        # The engine's one suffix list and folder rules (no hidden files); OpenCV decodes every suffix on it.
        files = sorted(p.path for p in find_photos([root], recursive=True, skip_results=False).photos)
        if not files:
            raise DataError(f"{root}: no photos ({', '.join(sorted(PHOTO_SUFFIXES))}) found")
        rel = [p.relative_to(root).as_posix() for p in files]
        # Split by a hash of the relative path: stable across runs and machines, independent of file order.
        frac = np.array([int(hashlib.sha1(r.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF for r in rel])
        super().__init__(
            names=np.array(rel),
            split=np.where(frac < val_fraction, VAL, TRAIN).astype(np.uint8),
            weight=np.ones(len(files)),
            people=np.zeros(len(files), np.uint8),
            sources=np.array([r.split("/")[0] if "/" in r else root.name for r in rel]),
            origin=str(root),
        )
        self.files = files

    def load(self, i: int) -> np.ndarray:
        # np.fromfile + imdecode rather than cv2.imread: works with non-ASCII paths on Windows too.
        rgb = decode_rgb(np.fromfile(self.files[i], dtype=np.uint8), str(self.files[i]))
        h, w = rgb.shape[:2]
        scale = FOLDER_MAX_SHORT_SIDE / min(h, w)
        if scale < 1:
            rgb = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        return rgb


def open_source(path: str | Path, folder_val_fraction: float = 0.08) -> PhotoSource:
    path = Path(path)
    if path.is_dir():
        return FolderSource(path, folder_val_fraction)
    if path.is_file():
        return PackSource(path)
    raise DataError(f"training data not found: {path} (give the pack .npz or a folder of photos)")


def rgb_to_pair(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 RGB -> (L* [0, 100] H x W, normalised ab H x W x 2) through the shared colour module."""
    lab = colour.rgb_to_lab(rgb.astype(np.float32) / 255.0)
    return lab[..., 0], colour.normalize_ab(lab[..., 1:])


def to_train_tensors(lightness: np.ndarray, rgb: np.ndarray) -> dict[str, torch.Tensor]:
    """The network input and the crop itself: its a*b* target is computed on the training device from the
    uint8 RGB (trainer.torch_colour.ab_target), which keeps the workers' numpy Lab conversion off the data
    path and ships 3 bytes a pixel instead of 8."""
    return {
        "l": torch.from_numpy(np.ascontiguousarray(colour.normalize_l(lightness)[None])),
        "rgb": torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))),
    }


def to_tensors(lightness: np.ndarray, ab_norm: np.ndarray) -> dict[str, torch.Tensor]:
    return {
        "l": torch.from_numpy(np.ascontiguousarray(colour.normalize_l(lightness)[None])),
        "ab": torch.from_numpy(np.ascontiguousarray(ab_norm.transpose(2, 0, 1))),
    }


def random_crop(
    rgb: np.ndarray, size: int, rng: np.random.Generator, min_fraction: float, max_fraction: float, hflip: bool
) -> np.ndarray:
    """A square crop covering ``min..max_fraction`` of the short side, resized to ``size``, maybe flipped.

    Cutting the window first and resizing only it is the same as rescaling the photo and then cropping,
    at a fraction of the cost.
    """
    h, w = rgb.shape[:2]
    side = max(1, round(min(h, w) * rng.uniform(min_fraction, max_fraction)))
    y = int(rng.integers(0, h - side + 1))
    x = int(rng.integers(0, w - side + 1))
    window = rgb[y : y + side, x : x + side]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    crop = cv2.resize(window, (size, size), interpolation=interp)
    if hflip and rng.random() < 0.5:
        crop = crop[:, ::-1]
    return np.ascontiguousarray(crop)


def centre_crop(rgb: np.ndarray, size: int) -> np.ndarray:
    """Short side resized to ``size``, then the centre square: the fixed validation view of a photo."""
    h, w = rgb.shape[:2]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, (nw, nh), interpolation=interp)
    y, x = (nh - size) // 2, (nw - size) // 2
    return np.ascontiguousarray(resized[y : y + size, x : x + size])


class TrainCrops(Dataset):
    """Item ``(k, seed)`` -> augmented crop of the k-th training photo: degraded L, and the clean crop's uint8
    RGB (``"rgb"``), from which :func:`batch_ab` makes the ab target on the training device.

    With ``target_on_device=False`` (CPU training, where the workers run beside the training step rather
    than feed a GPU) the workers compute the ab target (``"ab"``) themselves, in numpy.
    """

    def __init__(self, source: PhotoSource, opts, degrader: Degrader | None = None, *,
                 target_on_device: bool = True) -> None:
        self.source = source
        self.photos = source.indices(TRAIN)
        if len(self.photos) == 0:
            raise DataError(f"{source.origin}: no training photos")
        self.opts = opts
        self.degrader = degrader if degrader is not None else Degrader.from_options(opts)
        self.target_on_device = target_on_device
        self._warned: set[int] = set()
        self.cutouts: list[np.ndarray] = []
        if opts.cutout_p > 0:
            try:
                self.cutouts = [rgba for _, rgba in read_cutouts(opts.cutouts)]
            except ValueError as exc:
                raise DataError(str(exc)) from exc

    def __len__(self) -> int:
        return len(self.photos)

    def weights(self) -> np.ndarray:
        """Sampling weights: the pack's, with people photos rescaled to the ``people_weight`` option."""
        people = self.source.people[self.photos].astype(bool)
        return self.source.weight[self.photos] * np.where(people, self.opts.people_weight / PEOPLE_WEIGHT, 1.0)

    def load_photo(self, k: int) -> np.ndarray:
        """The k-th training photo; an undecodable one is reported once and replaced by the next photo."""
        for step in range(len(self.photos)):
            i = int(self.photos[(k + step) % len(self.photos)])
            try:
                return self.source.load(i)
            except PhotoDecodeError as exc:
                if i not in self._warned:
                    self._warned.add(i)
                    warnings.warn(f"skipping photo: {exc}", stacklevel=2)
        raise DataError(f"{self.source.origin}: no training photo could be decoded")

    def __getitem__(self, item: tuple[int, int]) -> dict[str, torch.Tensor]:
        k, seed = item
        rng = np.random.default_rng(seed)
        o = self.opts
        crop = random_crop(
            self.load_photo(k), o.crop_size, rng, o.crop_min_fraction, o.crop_max_fraction, o.hflip
        )
        if self.cutouts and rng.random() < o.cutout_p:
            crop = composite(crop, self.cutouts, rng, o.cutout_max)
        if self.target_on_device and not o.hint_inputs:
            lightness = colour.rgb8_to_lightness(crop)
            return to_train_tensors(self.degrader(lightness / 100.0, rng) * 100.0, crop)
        lightness, ab_norm = rgb_to_pair(crop)
        degraded = self.degrader(lightness / 100.0, rng) * 100.0
        item = to_train_tensors(degraded, crop) if self.target_on_device else to_tensors(degraded, ab_norm)
        if o.hint_inputs:
            # Points from the clean crop's colour, spread along the L* the network sees (as the engine would).
            planes = hint_sim.simulate(degraded, colour.denormalize_ab(ab_norm), rng, o.hint_geometric_p,
                                       o.hint_max_points)
            item["hints"] = hint_tensor(planes)
        return item


def hint_tensor(planes: np.ndarray) -> torch.Tensor:
    """H x W x 6 hint channels -> [6, H, W]."""
    return torch.from_numpy(np.ascontiguousarray(planes.transpose(2, 0, 1)))


class ValCrops(Dataset):
    """Fixed centre crops of (up to ``limit``) validation photos, no degradation, kept in memory.

    With ``hints`` each crop also gets fixed simulated points (the k-th crop has VAL_HINT_COUNTS[k % 5] of
    them, drawn from a generator seeded by k), so validation judges the curve the evaluation reports.
    """

    def __init__(self, source: PhotoSource, crop_size: int, limit: int = 0, hints: bool = False) -> None:
        self.hints = hints
        photos = source.indices(VAL)
        if limit:
            photos = photos[:limit]
        self.crops: list[np.ndarray] = []
        for i in photos:
            try:
                self.crops.append(centre_crop(source.load(int(i)), crop_size))
            except PhotoDecodeError as exc:
                warnings.warn(f"skipping val photo: {exc}", stacklevel=2)

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        lightness, ab_norm = rgb_to_pair(self.crops[k])
        item = to_tensors(lightness, ab_norm)
        if self.hints:
            count = VAL_HINT_COUNTS[k % len(VAL_HINT_COUNTS)]
            points = hint_sim.draw_points(colour.denormalize_ab(ab_norm), np.random.default_rng(k), count)
            item["hints"] = hint_tensor(hint_sim.hint_planes(lightness, points))
        return item


def batch_ab(batch: dict[str, torch.Tensor], device: torch.device | str | None = None) -> torch.Tensor:
    """The normalised ab target [N, 2, H, W] of a batch, on ``device``: a :class:`TrainCrops` batch carries
    the crops' uint8 RGB and gets its target converted there; a batch may also carry ``"ab"`` ready-made."""
    if "ab" in batch:
        return batch["ab"].to(device)
    return ab_target(batch["rgb"].to(device, non_blocking=True))


class WeightedStepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Batches drawn with replacement in proportion to ``weights`` (WeightedRandomSampler semantics).

    Unlike torch's WeightedRandomSampler, batch ``step`` depends only on (seed, step): the sampler has no
    hidden position to checkpoint, and resuming at any step is exact. Each item also gets a seed for its
    augmentations.
    """

    def __init__(
        self, weights: Sequence[float], batch_size: int, seed: int, start_step: int = 0, end_step: int = 0
    ) -> None:
        w = torch.as_tensor(np.asarray(weights, dtype=np.float64))
        if len(w) == 0 or not torch.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise DataError("sampling weights must be finite, >= 0 and not all zero")
        self.weights = w
        self.batch_size = batch_size
        self.seed = seed
        self.start_step = start_step
        self.end_step = end_step

    def batch(self, step: int) -> list[tuple[int, int]]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        idx = torch.multinomial(self.weights, self.batch_size, replacement=True, generator=g)
        seeds = torch.randint(0, 2**62, (self.batch_size,), generator=g)
        return list(zip(idx.tolist(), seeds.tolist(), strict=True))

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start_step, self.end_step):
            yield self.batch(step)

    def __len__(self) -> int:
        return max(0, self.end_step - self.start_step)

    def state_dict(self) -> dict:
        return {"seed": self.seed, "next_step": self.start_step}


def _worker_init(_: int) -> None:
    cv2.setNumThreads(1)  # workers already run in parallel; OpenCV's own pool would oversubscribe cores
    # Ctrl-C reaches the whole process group: only the main process acts on it (finishes the step, saves,
    # then shuts the workers down), so workers keep serving batches until then.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def train_loader(
    dataset: TrainCrops, opts, start_step: int, end_step: int, pin_memory: bool = False,
    batch_sampler: Sampler | None = None,
) -> DataLoader:
    """``batch_sampler`` replaces the single-process sampler (trainer.distributed gives each rank its slice)."""
    sampler = batch_sampler or WeightedStepBatchSampler(
        dataset.weights(), opts.batch_size, opts.seed, start_step, end_step
    )
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=opts.num_workers,
        pin_memory=pin_memory,
        worker_init_fn=_worker_init if opts.num_workers else None,
        prefetch_factor=4 if opts.num_workers else None,
        # Fresh worker processes: a forked worker deadlocks in OpenCV once the parent has used cv2's thread
        # pool (it has, for the val crops). Spawn is also what Windows and macOS do anyway.
        multiprocessing_context="spawn" if opts.num_workers else None,
    )
