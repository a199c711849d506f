"""Typed settings, read from the environment (prefix ``DATAFACTORY_``) or secret files.

Every field carries a description; ``docs/configuration.md`` is generated from them and a
test fails when the two disagree. Secrets are read from the environment or from files named
by a ``*_FILE`` setting, never from the database.
"""

from __future__ import annotations

import json
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from datafactory.core.errors import ConfigurationError


class QueueBackend(StrEnum):
    sqlite = "sqlite"
    redis = "redis"
    immediate = "immediate"


class OidcProvider(BaseModel):
    """One OpenID Connect provider the operator trusts for sign-in."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,30}$")
    label: str
    issuer: str
    client_id: str
    client_secret: SecretStr | None = None
    client_secret_file: Path | None = None
    scopes: str = "openid email profile"
    link_verified_email: bool = Field(
        default=False,
        description="Sign a verified e-mail address into the existing person with it.",
    )

    def secret(self) -> str:
        if self.client_secret_file is not None:
            return self.client_secret_file.read_text().strip()
        if self.client_secret is not None:
            return self.client_secret.get_secret_value()
        raise ConfigurationError(f"OIDC provider {self.name!r} has no client secret")


DEMO_MARKER = "DEMO"
"""A file `datafactory demo` leaves in its data folder: the folder holds demo data."""


class Settings(BaseSettings):
    """The platform's settings. Defaults give the embedded demo: SQLite and a local folder."""

    model_config = SettingsConfigDict(
        env_prefix="DATAFACTORY_", extra="ignore", validate_default=True
    )

    data_dir: Path = Field(
        default=Path(".datafactory"),
        description="Folder for the embedded database, files, keys and the job queue.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default SQLite in the data folder. "
        "Production: postgresql+psycopg://user@host/db.",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public address of the platform, used in persistent identifiers "
        "and OIDC redirects.",
    )
    demo: bool = Field(
        default=False,
        description="Demo mode: placeholder secrets are allowed (with a warning).",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that signs session cookies. Required outside demo mode.",
    )
    secret_key_file: Path | None = Field(
        default=None, description="File holding the session-cookie key instead."
    )
    signing_key_file: Path | None = Field(
        default=None,
        description="PEM file of the platform's Ed25519 key that signs ledger heads; "
        "default keys/ledger-ed25519.pem in the data folder, created on first use.",
    )
    permit_key_file: Path | None = Field(
        default=None,
        description="PEM file of the authority's RSA key that signs permits and GA4GH "
        "visas; default keys/permit-rsa.pem in the data folder, created on first use.",
    )
    storage_url: str | None = Field(
        default=None,
        description="Where files live: a local folder (default: files/ in the data "
        "folder) or s3://bucket/prefix.",
    )
    storage_options: Annotated[dict[str, Any], NoDecode] = Field(
        default_factory=dict,
        description='JSON options for the storage backend, e.g. {"endpoint_url": ...}.',
    )
    queue: QueueBackend = Field(
        default=QueueBackend.sqlite,
        description="Job queue: sqlite (embedded), redis (across machines) or "
        "immediate (run in the caller, for tests).",
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0", description="Redis for the redis queue."
    )
    workers: int = Field(default=2, ge=1, description="Web workers of `serve`.")
    host: str = Field(default="127.0.0.1", description="Address the server binds.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port it binds.")
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Largest request body accepted; larger ones get 413.",
    )
    harvest_max_bytes: int = Field(
        default=50 * 1024 * 1024,
        ge=1024,
        description="Largest document (or API page) a harvest reads.",
    )
    sign_in_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins per account within the window."
    )
    sign_in_window_seconds: int = Field(
        default=900, ge=1, description="Window for counting failed sign-ins."
    )
    session_max_age_seconds: int = Field(
        default=8 * 3600, ge=60, description="Lifetime of a web session."
    )
    token_max_days: int = Field(
        default=365, ge=1, description="Longest lifetime an API token may be given."
    )
    secure_cookies: bool = Field(
        default=False,
        description="Send cookies only over HTTPS; turn on behind TLS.",
    )
    oidc_providers: Annotated[list[OidcProvider], NoDecode] = Field(
        default_factory=list,
        description="JSON list of OpenID Connect providers: name, label, issuer, "
        "client_id, client_secret or client_secret_file, scopes, link_verified_email.",
    )
    link_check_allow_private: bool = Field(
        default=False,
        description="Let the catalogue's link checker reach private, loopback and "
        "link-local addresses (off: such links are reported unreachable, not fetched).",
    )
    permits_regimes_file: Path | None = Field(
        default=None,
        description="TOML file of the legal regimes (purposes, clocks, maximum "
        "durations); default: the EHDS and DGA regimes shipped with the platform.",
    )
    permits_register_delay_working_days: int = Field(
        default=0,
        ge=0,
        le=30,
        description="Working days between a decision and its entry in the public "
        "register (EHDS Art. 57: within 30 working days).",
    )
    permits_attachment_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Largest file an applicant may attach (PDF, PNG or JPEG).",
    )
    ttp_key_file: Path | None = Field(
        default=None,
        description="JSON file of the trusted third party's master keys, readable by "
        "its owner only (mode 0600); default keys/ttp-master.json in the data folder, "
        "created on first use. Used unless DATAFACTORY_TTP_MASTER_KEYS or "
        "DATAFACTORY_TTP_VAULT_URL is set.",
    )
    ttp_master_keys: SecretStr | None = Field(
        default=None,
        description='The TTP master keys from a secret store, as "1:<base64>,2:<base64>" '
        "(32 random bytes each, highest version current); rotate by adding a version "
        "there and restarting.",
    )
    ttp_vault_url: str | None = Field(
        default=None,
        description="HashiCorp Vault that keeps the TTP master keys in one KV version 2 "
        "secret.",
    )
    ttp_vault_token_file: Path | None = Field(
        default=None,
        description="File holding the Vault token; unset: the VAULT_TOKEN variable.",
    )
    ttp_vault_path: str = Field(
        default="datafactory/ttp-master-keys",
        description="Path of the KV version 2 secret holding the TTP master keys.",
    )
    ttp_vault_mount: str = Field(
        default="secret", description="Mount point of Vault's KV version 2 engine."
    )
    ttp_max_upload_bytes: int = Field(
        default=100 * 1024 * 1024,
        ge=1024,
        description="Largest file the TTP's API pseudonymises in one request.",
    )
    spe_retention_days: int = Field(
        default=30,
        ge=0,
        le=183,
        description="Days a workspace outlives its permit before it is destroyed and "
        "its key shredded (EHDS: at most six months).",
    )
    spe_holders_dir: Path | None = Field(
        default=None,
        description="Folder of the data holders' extracts a data source may name by "
        "absolute path (default: holders/ in the data folder).",
    )
    spe_sql_connections: SecretStr | None = Field(
        default=None,
        description="JSON object naming the databases SQL data sources read from, "
        'e.g. {"cns": "postgresql+psycopg://reader@cns-db/claims"}; kept secret.',
    )
    spe_threshold: int = Field(
        default=10,
        ge=2,
        description="Fewest people a released cell of an output table may count.",
    )
    spe_query_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Longest time one query of the gate may run."
    )
    spe_query_memory: str = Field(
        default="2GB",
        pattern=r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="Memory one query of the gate may use (DuckDB's memory_limit).",
    )
    spe_query_threads: int = Field(
        default=2, ge=1, le=64, description="Threads one query of the gate may use."
    )
    spe_job_cpu_seconds: int = Field(
        default=600, ge=1, description="CPU seconds one sandboxed job may use."
    )
    spe_job_memory_bytes: int = Field(
        default=4 * 1024**3,
        ge=64 * 1024**2,
        description="Address space one sandboxed job may use.",
    )
    spe_job_wall_seconds: int = Field(
        default=900, ge=1, description="Wall-clock time one sandboxed job may run."
    )
    smtp_host: str | None = Field(
        default=None,
        description="Mail server for e-mail notifications; unset: no e-mail is sent "
        "(notifications stay in the in-app inbox).",
    )
    smtp_port: int = Field(
        default=25,
        ge=1,
        le=65535,
        description="Port of the mail server (587 for submission with STARTTLS).",
    )
    smtp_sender: str = Field(
        default="no-reply@localhost",
        description="Address e-mail notifications come from (envelope sender and From).",
    )
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the SMTP connection with STARTTLS."
    )
    smtp_username: str | None = Field(
        default=None,
        description="Log in to the mail server as this user; unset: no login.",
    )
    smtp_password: SecretStr | None = Field(
        default=None, description="Password for the SMTP login."
    )
    smtp_password_file: Path | None = Field(
        default=None, description="File holding the SMTP password instead."
    )
    smtp_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long to wait for the mail server."
    )
    log_level: str = Field(default="INFO", description="Lowest level logged.")
    log_json: bool = Field(
        default=False, description="Log JSON lines instead of console text."
    )

    @model_validator(mode="before")
    @classmethod
    def _parse_json_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in ("oidc_providers", "storage_options"):
                value = data.get(name)
                if isinstance(value, str):
                    try:
                        data[name] = json.loads(value) if value.strip() else None
                    except json.JSONDecodeError as exc:
                        raise ValueError(
                            f"{name} is not valid JSON: {exc.msg}"
                        ) from exc
                    if data[name] is None:
                        data.pop(name)
        return data

    @model_validator(mode="after")
    def _require_secrets_outside_demo(self) -> Settings:
        # A folder made by `datafactory demo` stays a demo folder, so that every command
        # run on it afterwards (`datafactory spe query ...`) works without secrets.
        if not self.demo and (self.data_dir / DEMO_MARKER).is_file():
            self.demo = True
        if self.secret_key is None and self.secret_key_file is None:
            if not self.demo:
                raise ValueError(
                    "DATAFACTORY_SECRET_KEY or DATAFACTORY_SECRET_KEY_FILE must be set "
                    "outside demo mode"
                )
        return self

    # --- derived values -------------------------------------------------------------

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'datafactory.sqlite3').resolve()}"

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or str((self.data_dir / "files").resolve())

    @property
    def resolved_signing_key_file(self) -> Path:
        return self.signing_key_file or self.data_dir / "keys" / "ledger-ed25519.pem"

    @property
    def resolved_spe_holders_dir(self) -> Path:
        return self.spe_holders_dir or self.data_dir / "holders"

    def spe_sql_connection_urls(self) -> dict[str, str]:
        """The named databases of SQL data sources (a method: it reads a secret)."""
        if self.spe_sql_connections is None:
            return {}
        try:
            urls = json.loads(self.spe_sql_connections.get_secret_value())
        except json.JSONDecodeError:
            urls = None
        if not isinstance(urls, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in urls.items()
        ):
            # Never quote the value: it holds passwords.
            raise ValueError(
                "DATAFACTORY_SPE_SQL_CONNECTIONS must be a JSON object of names to "
                "database URLs"
            )
        return urls

    @property
    def resolved_ttp_key_file(self) -> Path:
        return self.ttp_key_file or self.data_dir / "keys" / "ttp-master.json"

    @property
    def resolved_permit_key_file(self) -> Path:
        return self.permit_key_file or self.data_dir / "keys" / "permit-rsa.pem"

    def smtp_secret(self) -> str | None:
        if self.smtp_password_file is not None:
            return self.smtp_password_file.read_text().strip()
        if self.smtp_password is not None:
            return self.smtp_password.get_secret_value()
        return None

    def session_secret(self) -> str:
        if self.secret_key_file is not None:
            return self.secret_key_file.read_text().strip()
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        # Demo mode only (the validator refuses this otherwise): one random key per data
        # folder, so sessions survive a restart of the demo but never leak across folders.
        path = self.data_dir / "keys" / "session-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def oidc_provider(self, name: str) -> OidcProvider | None:
        return next((p for p in self.oidc_providers if p.name == name), None)
