"""``twin-server models validate``: check DTDL files offline, as a modeler's CI would."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from twin_server.modeling.errors import ModelError
from twin_server.modeling.files import ModelFileError, read_sources
from twin_server.modeling.parser import Options, parse_texts
from twin_server.modeling.resolver import RepositoryResolver, chain


def validate_command(
    paths: Sequence[Path],
    *,
    repositories: Sequence[Path] = (),
    allow_undefined_extensions: bool | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Print one line per error (``file:line: validation-id: message``); return the exit
    code: 0 valid, 1 invalid, 2 unreadable input."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        sources = read_sources(paths)
    except ModelFileError as exc:
        print(f"twin-server: {exc}", file=err)
        return 2
    if not sources:
        print("twin-server: no .json model files found", file=err)
        return 2
    resolver = chain(RepositoryResolver(r) for r in repositories) if repositories else None
    options = Options(allow_undefined_extensions=allow_undefined_extensions)
    try:
        models = parse_texts(sources, options=options, resolver=resolver)
    except ModelError as exc:
        print(str(exc), file=out)
        count = len(exc.errors) + sum(len(p) for p in exc.unresolved.values())
        print(f"{count} error{'s' if count != 1 else ''} in {len(sources)} file(s)", file=err)
        return 1
    print(f"{len(models.interfaces())} Interfaces in {len(sources)} file(s): valid", file=out)
    return 0
