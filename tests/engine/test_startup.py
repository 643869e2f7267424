"""Start-up: importing the CLI loads no library that only a running batch or a TIFF needs, and the engine loads
onnxruntime only with a model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_importing_the_cli_leaves_tqdm_and_tifffile_for_later() -> None:
    probe = "import sys, engine.cli; print(sorted(m for m in ('tqdm', 'tifffile') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_tiff_still_reads_and_writes_after_a_lazy_import(tmp_path: Path) -> None:
    probe = (
        "import sys, numpy as np; from engine.photo_io import read_photo, write_photo; "
        f"p = write_photo({str(tmp_path / 'x.tif')!r}, np.full((4, 5, 3), 40000, np.uint16)); "
        "print(read_photo(p).pixels.max(), 'tifffile' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["40000", "True"]


def _loaded_after(code: str, modules: tuple[str, ...]) -> list[str]:
    probe = f"import sys, json; {code}; print(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_cli_parses_and_scans_without_numpy_opencv_pillow_or_onnxruntime(tmp_path: Path) -> None:
    """--help, a usage error and a folder scan answer at once: the heavy libraries wait for the model."""
    (tmp_path / "a.jpg").write_bytes(b"not decoded by a scan")
    heavy = ("numpy", "cv2", "PIL", "onnxruntime")
    code = ("import engine.cli as c; c.build_parser().parse_args(['x.jpg', '--format', 'png']); "
            f"print(len(c.expand_inputs([{str(tmp_path)!r}], False, None).jobs))")
    assert _loaded_after(code, heavy) == []
    # The pipeline needs numpy and OpenCV; the decoders (Pillow) load with the first photo read, the runtime
    # with the model.
    assert _loaded_after("import engine.pipeline, engine.photo_io, engine.cancel; engine.cancel.CancelToken()",
                         heavy) == ["cv2", "numpy"]
    assert _loaded_after("import engine.pipeline as p; p.photo_io.read_photo", heavy) == ["PIL", "cv2", "numpy"]


def test_a_token_cancelled_before_its_first_run_still_stops_that_run() -> None:
    from engine.cancel import CancelToken

    token = CancelToken()
    token.cancel()
    assert token.run_options.terminate  # made lazily, after the cancel: it must still say "terminate"
    fresh = CancelToken()
    assert not fresh.run_options.terminate
    fresh.cancel()
    assert fresh.run_options.terminate
