"""Reading model files from disk: single files, folders, and the text encodings DTDL uses."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class ModelFileError(Exception):
    """A path given as a model source cannot be read."""


def read_sources(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """``(name, text)`` for every ``.json`` file named or found (recursively) in a folder."""
    sources: list[tuple[str, str]] = []
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.json") if p.is_file())
        elif path.is_file():
            files = [path]
        else:
            raise ModelFileError(f"{path}: no such file or folder")
        for file in files:
            try:
                sources.append((str(file), file.read_bytes().decode("utf-8-sig")))
            except UnicodeDecodeError as exc:
                raise ModelFileError(f"{file}: not UTF-8 text ({exc.reason})") from exc
            except OSError as exc:
                raise ModelFileError(f"{file}: {exc.strerror}") from exc
    return sources
