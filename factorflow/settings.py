"""Typed settings: ``FACTORFLOW_*`` environment variables override a config file.

The config file is TOML at ``<data_dir>/factorflow.toml`` (or ``FACTORFLOW_CONFIG``).
Each privacyIDEA ``pi.cfg`` setting that Factorflow honours has a ``FACTORFLOW_``
equivalent; ``docs/configuration.md`` lists them side by side.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)


def default_data_dir() -> Path:
    return Path(os.environ.get("FACTORFLOW_DATA_DIR", "./factorflow-data")).resolve()


class _TomlFileSource(PydanticBaseSettingsSource):
    """Reads the optional TOML config file; environment variables take precedence."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        explicit = os.environ.get("FACTORFLOW_CONFIG")
        path = Path(explicit) if explicit else default_data_dir() / "factorflow.toml"
        self._data: dict[str, Any] = {}
        if path.is_file():
            with path.open("rb") as handle:
                self._data = tomllib.load(handle)

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FACTORFLOW_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    #: SQLAlchemy URL; empty means SQLite in the data directory (pi.cfg SQLALCHEMY_DATABASE_URI).
    database_url: str = ""
    #: How long a statement waits for a row or table lock before it fails (PostgreSQL,
    #: which waits for ever otherwise; SQLite waits 30 s, MariaDB its innodb default).
    database_lock_timeout_seconds: float = Field(default=30.0, ge=0)
    #: pi.cfg PI_ENCFILE: the AES-256-GCM key for secrets at rest.
    encryption_key_file: Path | None = None
    #: pi.cfg SECRET_KEY: the HS256 key for JWTs.
    jwt_secret_file: Path | None = None
    #: pi.cfg PI_AUDIT_KEY_PRIVATE: the key that signs audit entries.
    audit_key_file: Path | None = None
    #: The audit chain's anchor (the newest point this node wrote); keep it with the key,
    #: out of the database's reach (``docs/security.md``, "The audit chain").
    audit_anchor_file: Path | None = None
    jwt_validity_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    #: Login throttling of POST /auth (docs/security.md). After ``*_backoff_after``
    #: failed logins of one account (or from one client address) in a window, logins
    #: are refused without a password check for a backoff that doubles with every
    #: further failure; after ``*_lockout_after`` for ``login_lockout_seconds``.
    #: 0 turns that step off.
    login_account_backoff_after: int = Field(default=5, ge=0, le=10_000)
    login_account_lockout_after: int = Field(default=20, ge=0, le=100_000)
    login_client_backoff_after: int = Field(default=50, ge=0, le=100_000)
    login_client_lockout_after: int = Field(default=100, ge=0, le=1_000_000)
    login_backoff_base_seconds: float = Field(default=1.0, gt=0.0, le=3600.0)
    login_backoff_max_seconds: float = Field(default=60.0, gt=0.0, le=24 * 3600.0)
    login_lockout_seconds: int = Field(default=900, ge=1, le=7 * 24 * 3600)
    #: Failures are counted in a window that starts with the first one; afterwards
    #: the count starts again.
    login_failure_window_seconds: int = Field(default=3600, ge=1, le=30 * 24 * 3600)
    #: argon2id cost for PINs and admin passwords (pi.cfg PI_HASH_ALGO_PARAMS).
    argon2_time_cost: int = Field(default=2, ge=1, le=20)
    argon2_memory_kib: int = Field(default=19456, ge=1024, le=1024 * 1024)
    argon2_parallelism: int = Field(default=1, ge=1, le=16)
    #: Hashes computed at once per process (0: one per usable CPU); each holds
    #: argon2_memory_kib of memory while it runs.
    argon2_threads: int = Field(default=0, ge=0, le=64)
    #: pi.cfg PI_NODE (and PI_AUDIT_SERVERNAME): this node's name, written into every
    #: audit entry, the ``node`` label of /metrics and ``/system/nodes``.
    node_name: str = Field(default_factory=lambda: os.uname().nodename, max_length=255)
    #: pi.cfg PI_NODE_UUID: this node's UUID; empty: the one kept in <data_dir>/node.uuid.
    node_uuid: str = Field(
        default="", pattern=r"^$|^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$"
    )
    #: Blast-radius guard for every scheduled definition without its own limits: a
    #: run that would act on more than this many subjects (0 = no limit) ...
    guard_max_subjects: int = Field(default=0, ge=0)
    #: ... or on more than this percentage of those swept (0 = no limit) pauses.
    guard_max_share: int = Field(default=0, ge=0, le=100)
    #: Who hears about a paused run (empty: nobody is mailed; the run is listed), and
    #: the SMTP server identifier that mails it.
    guard_admin_email: str = ""
    #: How deep chained actions go: a definition with ``chain_events`` runs the
    #: definitions of the request its action performed at depth 1, theirs at 2, ...
    event_chain_depth: int = Field(default=3, ge=1, le=10)
    guard_smtp_server: str = ""
    #: pi.cfg PI_BASE_URL.
    base_url: str = ""
    #: pi.cfg PI_SCRIPT_HANDLER_DIRECTORY.
    script_directory: Path | None = None
    #: Seconds a Script handler script may run before it is killed.
    script_timeout_seconds: float = Field(default=30.0, gt=0.0, le=3600.0)
    #: pi.cfg PI_NOTIFICATION_HANDLER_SPOOLDIRECTORY.
    notification_spool_directory: Path | None = None
    #: Directory of UserNotification body templates (option value ``file:<name>``).
    notification_template_directory: Path | None = None
    #: Largest accepted request body in bytes.
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: privacyIDEA's system setting splitAtSign.
    split_at_sign: bool = True
    #: privacyIDEA URL-decodes query and form values once more after parsing, except
    #: for clients that already send them raw (matched by User-Agent prefix).
    url_decode_exempt_user_agents: list[str] = Field(default_factory=lambda: ["privacyidea-cp"])
    #: Seconds between checks of the configuration version (pi.cfg PI_CHECK_RELOAD_CONFIG).
    config_reload_seconds: float = Field(default=0.5, ge=0.0, le=60.0)
    #: Lifetime of a challenge (email, SMS) in seconds unless the system settings
    #: ``<type>`` validity keys or ``DefaultChallengeValidityTime`` say otherwise.
    challenge_validity_seconds: int = Field(default=120, ge=1, le=24 * 3600)
    #: Where push notifications go: Firebase Cloud Messaging's HTTP v1 ``messages:send``
    #: endpoint, ``{project_id}`` replaced by the push token's Firebase configuration.
    push_fcm_url: str = Field(
        default="https://fcm.googleapis.com/v1/projects/{project_id}/messages:send",
        max_length=500,
    )
    #: Seconds one push notification request may take.
    push_fcm_timeout_seconds: float = Field(default=10.0, gt=0.0, le=120.0)
    #: Delivery attempts of a durable job before it moves to the dead-letter state.
    job_max_attempts: int = Field(default=8, ge=1, le=100)
    #: First retry delay; each further attempt doubles it (with jitter) up to the cap.
    job_backoff_base_seconds: float = Field(default=10.0, ge=0.0, le=3600.0)
    job_backoff_max_seconds: float = Field(default=3600.0, ge=0.0, le=7 * 24 * 3600)
    #: How long a worker owns a claimed job; a worker that dies mid-delivery leaves the
    #: job to others once this passes. Must exceed the longest delivery timeout.
    job_lease_seconds: float = Field(default=300.0, ge=0.1, le=24 * 3600)
    #: Seconds a delivered job keeps its payload (the message, sealed) before the
    #: worker purges it; 0 purges it on delivery. Metadata and attempts stay.
    job_payload_retention_seconds: int = Field(default=3600, ge=0, le=366 * 24 * 3600)
    #: Requests handled at once per API process. argon2 and the database are the work,
    #: so more threads than the pool has connections only queue inside the server.
    api_threads: int = Field(default=16, ge=1, le=256)
    #: Delivery threads per worker process.
    worker_threads: int = Field(default=2, ge=1, le=64)
    #: Seconds an idle worker thread waits before looking for due jobs again.
    worker_poll_seconds: float = Field(default=1.0, ge=0.01, le=60.0)
    #: Whether ``factorflow serve`` runs a delivery worker thread in each API process.
    embedded_worker: bool = True

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlFileSource(settings_cls), file_secret_settings)

    @property
    def pool_size(self) -> int:
        """Database connections per process: the request threads, the worker, spares."""
        return self.api_threads + self.worker_threads + 2

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'factorflow.sqlite'}"

    @property
    def effective_encryption_key_file(self) -> Path:
        return self.encryption_key_file or self.data_dir / "encryption.key"

    @property
    def effective_jwt_secret_file(self) -> Path:
        return self.jwt_secret_file or self.data_dir / "jwt.secret"

    @property
    def effective_audit_key_file(self) -> Path:
        return self.audit_key_file or self.data_dir / "audit.key"

    @property
    def effective_audit_anchor_file(self) -> Path:
        return self.audit_anchor_file or self.data_dir / "audit.anchor"

    @property
    def effective_script_directory(self) -> Path:
        return self.script_directory or self.data_dir / "scripts"

    @property
    def effective_spool_directory(self) -> Path:
        return self.notification_spool_directory or self.data_dir / "spool"

    @property
    def effective_template_directory(self) -> Path:
        return self.notification_template_directory or self.data_dir / "templates"
