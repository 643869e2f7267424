"""Rechroma trainer: training data, pix2pix training and ONNX export (PyTorch side)."""
