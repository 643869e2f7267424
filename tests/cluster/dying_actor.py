"""A colorize actor whose process dies the first time it meets one photo, and every time it meets another
(for the retry tests)."""

from __future__ import annotations

import os
from pathlib import Path

from cluster.actor import ColorizeActor


class DyingOnce(ColorizeActor):
    #: Set by the test before the class is shipped to the workers (pickled by value, with these values).
    victim = ""
    marker = ""
    always = ""

    def colorize(self, src: str, dst: str, attempt: int = 1) -> dict:
        if Path(src).name == self.always:
            os._exit(1)
        marker = Path(self.marker)
        if Path(src).name == self.victim and not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)  # like a kill -9 or the OOM killer: no cleanup, no reply
        return super().colorize(src, dst, attempt)
