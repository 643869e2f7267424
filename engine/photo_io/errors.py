"""The one exception type of photo reading and writing, kept apart so every photo_io helper can raise it."""

from __future__ import annotations

from pathlib import Path


class PhotoError(Exception):
    """A clear, one-line, user-facing reason why one file could not be read or written.

    ``str(error)`` is the reason alone ("not an image file", "disk full", ...); ``path`` names the file so a
    batch can report ``f"{error.path}: {error}"`` and go on with the next one.
    """

    def __init__(self, reason: str, path: str | Path | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = Path(path) if path is not None else None


class PhotoExistsError(PhotoError, FileExistsError):
    """The output file already exists and ``overwrite`` was not asked for (also a FileExistsError)."""

    def __init__(self, reason: str, path: str | Path | None = None) -> None:
        PhotoError.__init__(self, reason, path)
