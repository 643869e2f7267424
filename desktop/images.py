"""numpy <-> QImage helpers: the engine speaks numpy arrays, Qt paints QImages."""

from __future__ import annotations

import sys

import cv2
import numpy as np
from PySide6.QtGui import QImage

from engine.photo_io.write import to_8bit


def to_qimage(rgb: np.ndarray, alpha: np.ndarray | None = None) -> QImage:
    """H x W x 3 RGB array (plus an optional H x W alpha) to a QImage that owns its pixels (so the arrays may
    be freed afterwards). With alpha the image is RGBA, and the viewer paints it over a checkerboard."""
    rgb = np.ascontiguousarray(to_8bit(rgb))
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 RGB array, got shape {rgb.shape}")
    height, width, _ = rgb.shape
    if alpha is not None and alpha.shape[:2] == (height, width):
        rgba = np.ascontiguousarray(np.dstack([rgb, to_8bit(alpha)]))
        image = QImage(rgba.data, width, height, rgba.strides[0], QImage.Format.Format_RGBA8888)
        return image.copy()
    if sys.byteorder == "little":
        # 32-bit pixels, as the screen's backing store has them: painting (scaled) a 1600 px RGB888 image
        # converted it on every repaint, 5 ms of the GUI thread each time; this is 1-2 ms, once, off it.
        bgra = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)
        return QImage(bgra.data, width, height, bgra.strides[0], QImage.Format.Format_RGB32).copy()
    image = QImage(rgb.data, width, height, rgb.strides[0], QImage.Format.Format_RGB888)
    return image.copy()  # detach from the numpy buffer


def qimage_to_array(image: QImage) -> np.ndarray:
    """QImage to an H x W x 3 uint8 RGB array (a copy), used by tests and the benchmark to inspect pixels."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    buffer = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    rows = buffer.reshape(height, image.bytesPerLine())
    return rows[:, : width * 3].reshape(height, width, 3).copy()
