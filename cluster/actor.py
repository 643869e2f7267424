"""The work one Ray actor does: hold one loaded model and colorize photos with the engine, one at a time.

Plain Python (no Ray import), so the same code runs in a Ray actor and in a test.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image

from engine.hints import HintsError
from engine.model import Generator
from engine.photo_io import PhotoError
from engine.pipeline import colorize_file
from engine.sidecar import hints_for_photo

#: Columns of a result batch (one row per photo), in this order.
RESULT_COLUMNS = ("index", "status", "output", "error", "seconds", "width", "height", "device", "hints")


def _output_size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as image:  # header only
            return image.size
    except Exception:  # noqa: BLE001 - the size is informational; the file itself was written
        return (0, 0)


class ColorizeActor:
    """Loaded once per actor (one inference session), then called with batches of planned photos
    (columns ``index``, ``src``, ``dst``); returns one result row per photo. A photo that fails is
    reported in its row and the next one goes on: only a dying process stops an actor."""

    def __init__(self, model: str, device: str = "cpu", threads: int = 1, strength: float = 1.0,
                 render_size: int | None = None, fmt: str | None = None, quality: int = 92,
                 use_sidecars: bool = True, attempts=None, max_attempts: int = 0) -> None:
        """``attempts``: a Ray actor handle whose ``begin.remote(index)`` counts the tries of a photo across
        worker deaths; a photo on its ``max_attempts + 1``-th try is reported as failed, not run again."""
        self.generator = Generator(model, device=device, threads=threads)
        self.settings = {"strength": strength, "render_size": render_size, "fmt": fmt, "quality": quality}
        self.use_sidecars = use_sidecars  # colour hints from each photo's sidecar, as rechroma-cli reads them
        self.attempts, self.max_attempts = attempts, max_attempts

    def attempt(self, index: int) -> int:
        if self.attempts is None:
            return 1
        import ray

        return int(ray.get(self.attempts.begin.remote(index)))

    def colorize(self, src: str, dst: str, attempt: int = 1) -> dict:
        started = time.perf_counter()
        status, error, output, size, hints = "done", "", dst, (0, 0), None
        target = Path(dst)
        try:
            if attempt > 1 and target.exists():
                # A retry, and the planned name is taken: the worker that died published the photo before it
                # could answer (the writer publishes complete files only). Done; not colorized twice.
                size = _output_size(target)
            else:
                hints = hints_for_photo(src, use_sidecars=self.use_sidecars)
                target.parent.mkdir(parents=True, exist_ok=True)
                # As rechroma-cli: a name another program takes meanwhile moves the photo to -2, -3, ...
                written = colorize_file(src, target, self.generator, overwrite=False, next_free=True, hints=hints,
                                        **self.settings)
                output, size = str(written), _output_size(written)
        except HintsError as exc:
            status, error = "failed", f"hints: {exc}"
        except PhotoError as exc:
            status, error = "failed", str(exc)
        except MemoryError:
            status, error = "failed", "not enough memory for this photo"
        except OSError as exc:
            status, error = "failed", exc.strerror or str(exc)
        except Exception as exc:  # noqa: BLE001 - one photo's unexpected failure must not stop the job
            status, error = "failed", f"internal error ({type(exc).__name__}: {exc})"
        if status == "failed":
            output = ""
        return {"status": status, "output": output, "error": error, "seconds": time.perf_counter() - started,
                "width": size[0], "height": size[1], "device": self.generator.device,
                "hints": len(hints or ()) if status == "done" else 0}

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = []
        for index, src, dst in zip(batch["index"], batch["src"], batch["dst"], strict=True):
            tries = self.attempt(int(index))
            if self.max_attempts and tries > self.max_attempts:
                result = {"status": "failed", "output": "", "seconds": 0.0, "width": 0, "height": 0,
                          "error": f"the worker died on this photo {self.max_attempts} times",
                          "device": self.generator.device, "hints": 0}
            else:
                result = self.colorize(str(src), str(dst), tries)
            rows.append({"index": int(index), **result})
        return {key: np.array([row[key] for row in rows]) for key in RESULT_COLUMNS}
