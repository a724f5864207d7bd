"""An adapter's child process: ``python -m twin_server.adapters.child <folder> <name> <module>``
imports the adapter folder as its private package (as the server does) and runs that module's
``main()``. An adapter runs its protocol client there when the client's own work (parsing,
routing, converting each message) would otherwise take the server's event loop's share of the
GIL; it talks to the server over its stdin and stdout."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from twin_server.adapters.loader import import_package


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: python -m twin_server.adapters.child FOLDER NAME MODULE", file=sys.stderr)
        return 2
    folder, name, module = argv[1:]
    package = import_package(name, Path(folder))
    entry = importlib.import_module(f"{package}.{module}")
    return int(entry.main())


if __name__ == "__main__":
    sys.exit(main(sys.argv))
