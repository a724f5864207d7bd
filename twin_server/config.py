"""All configuration, in one pydantic-settings class read from ``TWIN_*`` environment variables.

Every field is documented in README.md; ``tests/test_config.py`` checks that it stays so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class Retention(BaseModel):
    """How long a tenant keeps entity history: by age, by count per attribute, or both."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="forbid")

    max_age: str | None = Field(None, alias="maxAge", description="ISO 8601 duration, e.g. P30D")
    max_instances: int | None = Field(None, alias="maxInstances", gt=0)

    @field_validator("max_age")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            from twin_server.temporal.duration import duration_us

            try:
                if duration_us(value, "maxAge") <= 0:
                    raise ValueError("maxAge must be longer than zero")
            except Exception as exc:
                raise ValueError(str(exc)) from exc
        return value


DEFAULT_ADAPTERS = Path(__file__).resolve().parents[1] / "adapters"
DEFAULT_INFERENCE = Path(__file__).resolve().parents[1] / "inference"


class Settings(BaseSettings):
    """The server's settings. Unknown ``TWIN_*`` variables are ignored; bad values are errors."""

    model_config = SettingsConfigDict(env_prefix="TWIN_", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(1026, ge=0, le=65535, description="HTTP port (1026, as NGSI-LD brokers use).")
    data_dir: Path = Field(Path("data"), description="Directory for the embedded store's files.")
    store_url: str = Field(
        "",
        description="Store backend URL: sqlite:///path/file.db or memory://. "
        "Empty means sqlite:///<data_dir>/twins.db.",
    )
    log_level: LogLevel = Field("info", description="Log level of the server.")
    max_body_bytes: int = Field(
        2 * 1024 * 1024, gt=0, description="Largest accepted request body; larger gets 413."
    )
    context_fetch_timeout: float = Field(
        3.0, gt=0, le=60, description="Seconds to wait for a remote user @context."
    )
    context_max_bytes: int = Field(
        1024 * 1024, gt=0, description="Largest remote @context document accepted."
    )
    context_cache_size: int = Field(
        512, gt=0, description="How many processed @contexts are kept in memory."
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL",
        description="SQLite synchronous mode. FULL fsyncs every group commit (survives power "
        "loss); NORMAL survives a killed process but not a power cut.",
    )
    entity_cache_size: int = Field(
        20_000,
        ge=0,
        description="Entities the SQLite store keeps parsed in memory, and rendered GET bodies "
        "the API keeps (0: none).",
    )
    max_batch_entities: int = Field(
        1000, gt=0, description="Most entities accepted in one batch operation request."
    )
    default_limit: int = Field(20, gt=0, description="Page size of queries without ?limit.")
    max_limit: int = Field(1000, gt=0, description="Largest ?limit a query accepts.")
    model_repository: Path | None = Field(
        None,
        description="A folder laid out like the DTDL models repository; uploads may refer to "
        "the models in it, which are then stored with the upload.",
    )
    notification_timeout: float = Field(
        10.0, gt=0, description="Seconds an HTTP notification may take before it counts as failed."
    )
    sparql_timeout: float = Field(
        10.0, gt=0, description="Seconds a SPARQL query may run before it is stopped (503)."
    )
    max_model_upload_bytes: int = Field(
        32 * 1024 * 1024,
        gt=0,
        description="Largest model upload (/models) in bytes; a zip may expand to 10 times this.",
    )

    temporal_max_instances: int = Field(
        10_000,
        gt=0,
        description="Most instances of one attribute in one temporal answer (more: 206 with "
        "Content-Range).",
    )
    temporal_retention: dict[str, Retention] = Field(
        default_factory=dict,
        description='History retention per tenant, as JSON: {"*": {"maxAge": "P30D"}, '
        '"east": {"maxInstances": 1000}} ("*": every tenant without its own; "": the default '
        "tenant). Empty: history is kept for ever.",
    )
    temporal_retention_interval: float = Field(
        300.0, gt=0, description="Seconds between two runs of history retention."
    )

    graphql_max_depth: int = Field(
        12, gt=0, description="Deepest GraphQL query accepted (relationship traversal depth)."
    )
    graphql_max_tokens: int = Field(
        5000, gt=0, description="Largest GraphQL document accepted, in tokens."
    )
    graphql_max_aliases: int = Field(
        50, gt=0, description="Most aliases one GraphQL document may use."
    )
    graphql_max_complexity: int = Field(
        100_000,
        gt=0,
        description="Largest GraphQL query cost accepted: fields times the sizes of the lists "
        "they are in.",
    )
    graphql_subscriber_queue: int = Field(
        1000,
        gt=0,
        description="Changes a GraphQL subscriber may fall behind before it is dropped.",
    )

    adapters_dir: Path = Field(
        DEFAULT_ADAPTERS,
        description="The folder of protocol adapters (one subfolder with a manifest.json each).",
    )
    adapter_bindings: Path | None = Field(
        None,
        description="A YAML or JSON file, or a folder of them, with adapter bindings loaded "
        "(and stored, replacing those of the same id) at start.",
    )
    adapter_queue: int = Field(
        100_000, gt=0, description="Device readings that may wait to be committed; more: dropped."
    )
    adapter_batch: int = Field(
        4000, gt=0, description="Most device readings committed in one transaction."
    )
    # 4,000, not 1,000: a commit writes each page it touches once, and a thousand device
    # series have a thousand history pages; at saturation, on a history of 500,000 rows,
    # 1,000 a commit wrote 12-13 KB per reading and committed ~10,000/s, 4,000 a commit
    # 9-11 KB and ~10,700/s (bench/README.md).
    adapter_health_interval: float = Field(
        10.0, gt=0, description="Seconds between two writes of device health (device twins)."
    )

    inference_dir: Path = Field(
        DEFAULT_INFERENCE,
        description="The folder of inference models (one subfolder with a manifest.json each).",
    )
    inference_batch: int = Field(
        64, gt=0, le=4096, description="Most twins one model call scores (micro-batching)."
    )
    inference_drift_threshold: float = Field(
        0.2, gt=0, le=10, description="PSI of an input past which its model version drifts."
    )
    inference_drift_window: int = Field(
        1000, ge=50, le=1_000_000, description="Recent rows per model version the PSI is over."
    )

    def retention_for(self, tenant: str) -> Retention | None:
        """The retention policy of ``tenant`` (its own, else the "*" one), or None."""
        return self.temporal_retention.get(tenant) or self.temporal_retention.get("*")

    @field_validator("store_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value and not value.startswith(("sqlite:///", "memory://")):
            raise ValueError("store_url must start with sqlite:/// or memory://")
        return value

    @model_validator(mode="after")
    def _limits_consistent(self) -> Settings:
        if self.default_limit > self.max_limit:
            raise ValueError("default_limit must not exceed max_limit")
        return self

    @property
    def resolved_store_url(self) -> str:
        """The store URL, with the default SQLite file under ``data_dir`` filled in."""
        return self.store_url or f"sqlite:///{self.data_dir / 'twins.db'}"
