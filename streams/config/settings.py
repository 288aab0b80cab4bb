"""All of Knightwatch's settings: thresholds, topics and services, from a file and the
environment (prefix KNIGHTWATCH_, nested with `__`, e.g.
KNIGHTWATCH_DETECTION__SPEEDING__TOLERANCE_KMH).
"""

import json
import tomllib
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from streams.config.thresholds import DetectionSettings, conflict
from streams.config.topics import TopicNames

ENV_PREFIX = "KNIGHTWATCH_"
ENV_DELIMITER = "__"


class KafkaSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    brokers: str = Field("127.0.0.1:19092",
                         description="Bootstrap servers, comma-separated host:port.")
    group_id: str = Field("knightwatch", description="Consumer group shared by every worker.")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="SASL_SSL for a production cluster.")
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="SCRAM-SHA-512 on most managed clusters.")
    sasl_username: str | None = Field(None, description="SASL user.")
    sasl_password: SecretStr | None = Field(None, description="SASL password (never logged).")
    ssl_cafile: Path | None = Field(None, description="CA bundle that signed the brokers.")
    ssl_certfile: Path | None = Field(None, description="Client certificate for mutual TLS.")
    ssl_keyfile: Path | None = Field(None, description="Client key for mutual TLS.")
    gps_partitions: int = Field(12, ge=1, description="Partitions of the GPS topic: the "
                                "ceiling on the number of busy workers.")
    partitions: int = Field(12, ge=1, description="Partitions of every other topic created.")
    area_partitions: int = Field(4, ge=1, description="Partitions of the internal congestion "
                                 "topic: how many congestion judges the fleet runs.")
    replication_factor: int = Field(1, ge=1, description="Replication of created topics; "
                                    "3 on a production cluster.")
    checkpoint_interval_s: float = Field(
        1.0, gt=0, description="A partition commits its outputs, state and offsets in one Kafka "
        "transaction at least this often (outputs wait for it, except a real-time alert, which "
        "a rider partition commits at once; order events wait for it on the ingest stage). Each "
        "checkpoint writes every changed rider (~3 KiB): at fleet scale use 15-30 s "
        "(`make bench-core` prints the write rate).")
    checkpoint_every: int = Field(
        5000, ge=1, description="... or after this many records, whichever comes first.")
    producer_batch_bytes: int = Field(
        1_000_000, ge=16_384, le=1_000_000, description="The most bytes of records a "
        "checkpoint's producer puts in one batch for a partition. A checkpoint writes every "
        "changed rider's state (a few KiB each) to one state partition, and the producer sends "
        "one batch per partition per round trip: at Kafka's 16 KiB default a busy partition's "
        "checkpoint took hundreds of round trips (over a second). At most the broker's default "
        "message.max.bytes (1 MB).")
    earliest_offset_refresh_s: float = Field(
        10, gt=0, description="How old a worker's answer to an input partition's earliest "
        "offset may grow before it asks the broker again, in the background. Only owners "
        "that have read nothing need it, at every checkpoint, and never wait for it: awaiting "
        "the broker held their commits up to seconds. The offset grows only as retention "
        "deletes, so an older answer at worst says a little longer that an input has not been "
        "read to its end.")
    idle_after_s: float = Field(
        30, ge=0, description="A rider partition with no input record for this long (wall "
        "clock), whose inputs all said lately that they are caught up, is idle: its event time "
        "runs on to the wall clock, so its buffered records, quiet riders, windows and orders "
        "close without a gateway's heartbeat (Flink's source idleness; replay does the same at "
        "the end of its file). Live, event time is the wall clock anyway. A backfill of old "
        "records that stalls for longer would find its next records late: turn this off (0) "
        "for one and end it with heartbeats.")
    caught_up_valid_s: float = Field(
        30, gt=0, description="An input partition that has read all its topic holds back no "
        "rider partition's event time, for this long after it last said so (wall clock, "
        "measured against the newest word from another input and against when the newest fix "
        "read was written); caught-up inputs say it again every quarter of this. An input whose "
        "owner died, or whose broker froze, falls silent: after this long its records hold "
        "back event time again, so what it sends once it is back is not late. Shorter holds "
        "back less after a failure (a backfill fed many times faster than real time wants it "
        "short) but costs a transaction per input partition every quarter of it; it must leave "
        "room for two checkpoints between words.")

    @model_validator(mode="after")
    def _caught_up_words_fit(self) -> Self:
        # Words go out with checkpoints, taken every half interval at the earliest.
        if self.caught_up_valid_s < 2 * self.checkpoint_interval_s:
            raise conflict(f"caught_up_valid_s ({self.caught_up_valid_s}) must be at least "
                           f"twice checkpoint_interval_s ({self.checkpoint_interval_s})")
        return self

    @model_validator(mode="after")
    def _idle_after_checkpoints(self) -> Self:
        # The ingest stage forwards records once per checkpoint: a shorter wait would call a
        # partition idle between two of its forwards.
        if 0 < self.idle_after_s <= self.checkpoint_interval_s:
            raise conflict(f"idle_after_s ({self.idle_after_s}) must be 0 (off) or longer "
                           f"than checkpoint_interval_s ({self.checkpoint_interval_s})")
        return self

    @model_validator(mode="after")
    def _security_consistent(self) -> Self:
        # Each of these would otherwise be ignored without a word, or fail at the first
        # connection instead of at start.
        sasl = self.security_protocol.startswith("SASL_")
        if sasl and not (self.sasl_mechanism and self.sasl_username and self.sasl_password):
            raise conflict(f"security_protocol {self.security_protocol} needs sasl_mechanism, "
                           "sasl_username and sasl_password")
        if not sasl and (self.sasl_mechanism or self.sasl_username or self.sasl_password):
            raise conflict(f"SASL settings are given but security_protocol is "
                           f"{self.security_protocol}, which does not use them")
        ssl_files = [name for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile")
                     if getattr(self, name) is not None]
        if ssl_files and self.security_protocol not in ("SSL", "SASL_SSL"):
            raise conflict(f"{', '.join(ssl_files)} given but security_protocol is "
                           f"{self.security_protocol}, which does not use TLS")
        if self.ssl_keyfile is not None and self.ssl_certfile is None:
            raise conflict("ssl_keyfile is given without ssl_certfile")
        return self


class ServingSettings(BaseModel):
    """The Redis serving layer and the HTTP API over it."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    alerts_kept: int = Field(20, ge=1, le=1000, description="A rider's latest committed "
                             "alerts kept in Redis: a reviewer or support agent reads the "
                             "recent story, the full history is the rider-alerts topic.")
    position_interval_s: float = Field(
        10, gt=0, description="A first-aid-certified rider's live position is written at most "
        "this often (riders ping every 3-5 s; at 15 km/h a rider moves ~40 m in 10 s, little "
        "beside a search radius of a kilometre). Only certified riders' positions are written.")
    position_ttl_s: float = Field(
        60, gt=0, description="A live position older than this is not served and is pruned: "
        "the rider's phone went quiet (app closed, no signal, shift over).")
    certified_refresh_s: float = Field(
        30, gt=0, description="How often each worker re-reads the certified riders from Redis "
        "to know whose positions to write: a new certificate takes up to this long to count.")
    max_radius_m: float = Field(10_000, gt=0, le=100_000, description="The largest radius "
                                "/first-aiders/nearby accepts: beyond 10 km an ambulance is "
                                "nearer than any rider.")
    max_limit: int = Field(100, ge=1, le=1000, description="The most rows /leaderboard and "
                           "/first-aiders/nearby return.")

    @model_validator(mode="after")
    def _positions_outlive_their_interval(self) -> Self:
        # A rider written every interval would otherwise blink out between two writes.
        if self.position_ttl_s < 2 * self.position_interval_s:
            raise conflict(f"position_ttl_s ({self.position_ttl_s}) must be at least twice "
                           f"position_interval_s ({self.position_interval_s})")
        return self


class KnightwatchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter=ENV_DELIMITER,
                                      frozen=True, extra="forbid", allow_inf_nan=False)

    detection: DetectionSettings = DetectionSettings()
    topics: TopicNames = TopicNames()
    kafka: KafkaSettings = KafkaSettings()
    redis_url: str = Field("redis://127.0.0.1:16379/0",
                           description="Redis of the serving layer (README: the key layout).")
    redis_key_prefix: str = Field("knightwatch:", description="Every serving-layer key starts "
                                  "with this, e.g. the rider hash `knightwatch:rider:<id>`: "
                                  "several deployments can share one Redis.")
    serving: ServingSettings = ServingSettings()
    web_port: int = Field(6066, ge=1, le=65535,
                          description="Port of the worker's web server and /metrics.")
    api_token: SecretStr | None = Field(
        None, description="Bearer token the HTTP API asks for (never logged). Unset: the "
        "first-aider positions and POST /reviews are not served, and the rider and "
        "leaderboard pages answer without a token.")
    zones_file: Path | None = Field(None, description="GeoJSON of restricted zones and "
                                    "one-way segments.")
    data_dir: Path = Field(Path(".run/worker"), description="Where a worker keeps its local "
                           "files (Faust's data directory).")


class SettingsError(ValueError):
    """A setting is wrong; the message names it and its environment variable."""


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> KnightwatchSettings:
    values: dict[str, Any] = {}
    if config_file is not None:
        values = read_config_file(Path(config_file))
    values.update(overrides)
    try:
        return KnightwatchSettings(**values)
    except ValidationError as exc:
        raise SettingsError(explain(exc)) from exc
    except SourceError as exc:  # an environment variable that is not the JSON it must be
        raise SettingsError(f"bad environment setting: {exc}") from exc


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise SettingsError(f"config file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SettingsError(f"config file {path}: not UTF-8 text (bad byte at offset "
                            f"{exc.start})") from exc
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (ValueError, RecursionError) as exc:  # the decode errors, nesting too deep
        raise SettingsError(f"config file {path}: {str(exc).splitlines()[0]}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"config file {path}: expected a table/object at the top level")
    return data


def explain(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"])
        env = ENV_PREFIX + ENV_DELIMITER.join(str(p) for p in err["loc"]).upper()
        if err["type"] == "settings_conflict" and path:
            # Settings of one model that contradict each other: the message names them, the
            # location is their model.
            lines.append(f"bad settings {path} (env {env}{ENV_DELIMITER}*): {err['msg']}")
        elif err["type"] == "settings_conflict":
            lines.append(f"bad settings: {err['msg']}")
        else:
            lines.append(f"bad setting {path} (env {env}): {err['msg']}")
    return "\n".join(lines)
