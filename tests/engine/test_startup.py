"""Start-up: importing the CLI loads no library that only a running batch or a TIFF needs."""

from __future__ import annotations

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
