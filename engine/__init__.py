"""Rechroma engine: photo in, colour photo out (numpy, OpenCV, onnxruntime, Pillow; no Qt, no torch)."""

__version__ = "0.1.0"
