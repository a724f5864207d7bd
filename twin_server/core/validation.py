"""The hook through which writes are checked against a schema (DTDL models, for twins).

The twin graph runs the validator inside the store's transaction, on the entity an operation
produced; a validator that raises ``BadRequestData`` makes that write fail and change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from twin_server.core.types import Entity


class EntityValidator(Protocol):
    def __call__(
        self, tenant: str, before: Entity | None, after: Entity, changed: Sequence[str]
    ) -> None:
        """Raise ``BadRequestData`` if ``after`` breaks its schema. ``changed`` names the
        attributes the write touched (every attribute is checked when the types changed)."""
