"""Make a clean lightness channel look like an old scan, so the model copes with real inputs.

Only the network's L input is degraded; the a*b* target stays the clean photo's. Each effect fires with its
own probability and random strength drawn from a ``numpy.random.Generator`` the caller seeds, so a sample is
reproducible from its seed (exact resume, any number of DataLoader workers). Validation never degrades.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Degrader:
    noise_p: float = 0.3
    noise_sigma: float = 0.03
    blur_p: float = 0.2
    blur_sigma: float = 1.2
    jpeg_p: float = 0.3
    jpeg_quality_min: int = 30
    contrast_p: float = 0.4
    contrast_range: float = 0.25
    grain_p: float = 0.2
    grain_sigma: float = 0.04

    @classmethod
    def from_options(cls, opts) -> Degrader:
        return cls(**{name: getattr(opts, "degrade_" + name) for name in cls.__dataclass_fields__})

    @classmethod
    def off(cls) -> Degrader:
        return cls(noise_p=0.0, blur_p=0.0, jpeg_p=0.0, contrast_p=0.0, grain_p=0.0)

    def __call__(self, lightness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Lightness in [0, 1] (H x W float32) -> degraded copy in [0, 1].

        Order follows a photo's life: print contrast/gamma, optics blur, film grain, scanner noise, and JPEG
        last, as the scan was saved.
        """
        v = np.asarray(lightness, dtype=np.float32)
        if rng.random() < self.contrast_p:
            v = change_contrast(v, rng, self.contrast_range)
        if rng.random() < self.blur_p:
            v = cv2.GaussianBlur(v, (0, 0), sigmaX=rng.uniform(0.3, self.blur_sigma))
        if rng.random() < self.grain_p:
            v = add_grain(v, rng, rng.uniform(0.3, 1.0) * self.grain_sigma)
        if rng.random() < self.noise_p:
            sigma = rng.uniform(0.2, 1.0) * self.noise_sigma
            v = v + rng.normal(0.0, sigma, v.shape).astype(np.float32)
        v = np.clip(v, 0.0, 1.0)
        if rng.random() < self.jpeg_p:
            v = jpeg_roundtrip(v, int(rng.integers(self.jpeg_quality_min, 96)))
        return v.astype(np.float32, copy=False)


def change_contrast(v: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Random contrast around mid-grey, brightness shift and gamma: faded or harsh prints."""
    contrast = rng.uniform(1.0 - amount, 1.0 + amount)
    shift = rng.uniform(-0.4, 0.4) * amount
    gamma = np.exp(rng.uniform(-amount, amount))
    v = np.clip((v - 0.5) * contrast + 0.5 + shift, 0.0, 1.0)
    return np.power(v, gamma, dtype=np.float32)


def add_grain(v: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Film grain: blobs of 1-2 px, strongest in the mid-tones (where silver grain shows most)."""
    h, w = v.shape
    scale = rng.uniform(1.0, 2.0)
    small = rng.normal(0.0, 1.0, (max(1, int(h / scale)), max(1, int(w / scale)))).astype(np.float32)
    grain = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    grain /= grain.std() + 1e-6
    return v + sigma * grain * (4.0 * v * (1.0 - v))


def jpeg_roundtrip(v: np.ndarray, quality: int) -> np.ndarray:
    """Grey JPEG encode/decode at ``quality``: blocking and ringing of re-saved scans."""
    u8 = np.clip(v * 255.0 + 0.5, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - encoding a valid uint8 image does not fail
        return v
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0
