"""The device names every front end offers (CLI, app, trainer): one list, free of onnxruntime so the trainer
and settings can import it without loading an inference runtime."""

DEVICES = ("auto", "cpu", "cuda")
