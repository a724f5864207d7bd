"""DTDL parsing speed: the RealEstateCore ontology (767 Interfaces) and a generated set of
20,000 Interfaces. Prints seconds and peak memory.

    .venv/bin/python bench/dtdl_parse.py [--interfaces 20000]

Goals (issue 3): RealEstateCore under 3 s; 20,000 Interfaces under 2 minutes and 2 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path
from typing import Any

from twin_server.modeling.files import read_sources
from twin_server.modeling.parser import parse_texts

REC = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "conformance"
    / "ontologies"
    / "RealEstateCore-3.3"
)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def interface(n: int) -> dict[str, Any]:
    """A realistic Interface: inherits from one of the previous 50, has telemetry with units,
    writable properties with Enum / Object / Map / Array schemas, a relationship, a command."""
    doc: dict[str, Any] = {
        "@context": ["dtmi:dtdl:context;3", "dtmi:dtdl:extension:quantitativeTypes;1"],
        "@id": f"dtmi:com:example:gen:Device{n};1",
        "@type": "Interface",
        "displayName": {"en": f"Device {n}"},
        "contents": [
            {
                "@type": ["Telemetry", "Temperature"],
                "name": f"temp{n}",
                "schema": "double",
                "unit": "degreeCelsius",
            },
            {
                "@type": "Telemetry",
                "name": f"samples{n}",
                "schema": {"@type": "Array", "elementSchema": "double"},
            },
            {
                "@type": "Property",
                "name": f"mode{n}",
                "writable": True,
                "schema": {
                    "@type": "Enum",
                    "valueSchema": "string",
                    "enumValues": [{"name": v, "enumValue": v} for v in ("auto", "manual", "off")],
                },
            },
            {
                "@type": "Property",
                "name": f"config{n}",
                "schema": {
                    "@type": "Object",
                    "fields": [
                        {"name": "setpoint", "schema": "double"},
                        {
                            "name": "labels",
                            "schema": {
                                "@type": "Map",
                                "mapKey": {"name": "k", "schema": "string"},
                                "mapValue": {"name": "v", "schema": "string"},
                            },
                        },
                    ],
                },
            },
            {
                "@type": "Relationship",
                "name": f"feeds{n}",
                "target": f"dtmi:com:example:gen:Device{(n + 1) % 1000};1",
            },
            {
                "@type": "Command",
                "name": f"reset{n}",
                "request": {"name": "force", "schema": "boolean"},
            },
        ],
    }
    if n % 10:  # extends chains of up to 9, under the limit of 10
        doc["extends"] = f"dtmi:com:example:gen:Device{n - 1};1"
    return doc


def timed(label: str, sources: list[tuple[str, str]]) -> None:
    start = time.perf_counter()
    models = parse_texts(sources)
    elapsed = time.perf_counter() - start
    print(
        f"{label}: {len(models.interfaces())} Interfaces, {len(models.elements)} elements "
        f"in {elapsed:.2f} s; peak RSS {peak_mb():.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interfaces", type=int, default=20_000)
    args = parser.parse_args()
    if REC.is_dir():
        timed("RealEstateCore 3.3", read_sources([REC]))
    else:
        print(f"RealEstateCore not found at {REC}: skipped")
    generated = [(f"gen/{n}.json", json.dumps(interface(n))) for n in range(args.interfaces)]
    timed("generated", generated)


if __name__ == "__main__":
    main()
