"""Named errors of the ingestion library."""

from __future__ import annotations

from pathlib import Path


class IngestError(Exception):
    """Base class of every error raised by `ingest`."""


class LoadError(IngestError):
    """A file could not be read; `reason` is one line meant for the user."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class EmbeddingModelMismatchError(IngestError):
    """The collection was built with another embedding model than the one configured."""


class StoreLockedError(IngestError):
    """Another process holds the embedded store."""


class StoreUnavailableError(IngestError):
    """The Chroma server could not be reached or answered with an error."""
