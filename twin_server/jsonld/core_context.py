"""The NGSI-LD core @context, bundled in ``ontologies/`` and never fetched.

One document (v1.9.1, Annex B of ETSI GS CIM 009) answers for every core-context URL that clients
use: the unversioned one and v1.3 to v1.9. Later versions only add terms, so the newest copy is a
faithful superset for older clients.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson

ONTOLOGIES_DIR = Path(__file__).resolve().parents[2] / "ontologies"
CORE_CONTEXT_FILE = ONTOLOGIES_DIR / "ngsi-ld-core-context-v1.9.jsonld"

CORE_CONTEXT_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld"
CORE_CONTEXT_URLS = frozenset(
    {
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
        *(
            f"https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.{n}.jsonld"
            for n in range(3, 10)
        ),
    }
)
NGSI_LD = "https://uri.etsi.org/ngsi-ld/"
DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"


@cache
def core_context_document() -> dict[str, Any]:
    """The parsed core context document (``{"@context": {...}}``)."""
    doc: dict[str, Any] = orjson.loads(CORE_CONTEXT_FILE.read_bytes())
    return doc


def is_core_context(url: str) -> bool:
    return url in CORE_CONTEXT_URLS
