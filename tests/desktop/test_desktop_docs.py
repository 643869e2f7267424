"""The screenshot caption in docs/desktop.md is written by the script that renders the screenshot."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def screenshots():
    spec = importlib.util.spec_from_file_location("render_screenshots", ROOT / "tools" / "render_screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_caption_is_replaced_between_the_markers(screenshots, tmp_path: Path) -> None:
    doc = tmp_path / "desktop.md"
    doc.write_text(f"# App\n\n![shot](s.png)\n\n{screenshots.CAPTION_START}\nold words\n"
                   f"{screenshots.CAPTION_END}\n\n## More\n", encoding="utf-8")
    caption = screenshots.caption_text("hills.jpg", "the shipped model rechroma v2", 100, False, "2026-12-01")
    screenshots.update_caption(doc, caption)
    text = doc.read_text(encoding="utf-8")
    assert "old words" not in text and "`hills.jpg` colorized by the shipped model rechroma v2" in text
    assert text.startswith("# App") and text.rstrip().endswith("## More")
    screenshots.update_caption(doc, caption)  # idempotent
    assert doc.read_text(encoding="utf-8") == text

    bare = tmp_path / "bare.md"
    bare.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        screenshots.update_caption(bare, caption)


def test_the_committed_caption_names_the_shipped_model(screenshots) -> None:
    from engine.model import default_model_path

    text = (ROOT / "docs" / "desktop.md").read_text(encoding="utf-8")
    start, end = text.index(screenshots.CAPTION_START), text.index(screenshots.CAPTION_END)
    version = default_model_path().stem.rsplit("-", 1)[-1]  # rechroma-v2 -> v2
    assert f"rechroma {version}" in text[start:end]
