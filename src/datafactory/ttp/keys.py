"""Custody of the trusted third party's master keys, and what is derived from them.

The master key is the one secret everything else of the TTP hangs on: every domain's
pseudonym key and every domain's re-identification key are derived from it by HKDF. It
lives outside the database, in one of three custodies:

* :class:`KeyFileCustody`, a JSON file readable by its owner only (the embedded default);
* :class:`EnvCustody`, a setting filled from a secret store (``DATAFACTORY_TTP_MASTER_KEYS``);
* :class:`VaultCustody`, one KV version 2 secret in HashiCorp Vault.

A custody holds numbered versions; the highest is current. Rotation adds a new random
version and never removes an old one, because pseudonyms made under an old version stay
valid and must remain re-identifiable. No key ever goes into the database, a ledger entry,
a log line or an error message: the database keeps only a key check value per version
(:func:`key_check`), a one-way fingerprint that tells a wrong key from the right one.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from datafactory.ttp.errors import KeyCustodyError

MASTER_KEY_BYTES = 32
KEY_FILE_FORMAT = "datafactory-ttp-master-keys/1"
ENV_SETTING = "DATAFACTORY_TTP_MASTER_KEYS"
SEALING_KEY_BYTES = 64
"""AES-256-SIV takes a 512-bit key: two AES-256 keys, one for the MAC and one for CTR."""


class KeyCustody(Protocol):
    """Where the master keys live. Versions count from 1; the highest is current."""

    @property
    def description(self) -> str:
        """Where the keys are, for messages: never the keys themselves."""
        ...

    def current_version(self) -> int: ...

    def master_key(self, version: int) -> bytes: ...

    def rotate(self) -> int:
        """Add a new random master key version and return its number."""
        ...


def new_master_key() -> bytes:
    return secrets.token_bytes(MASTER_KEY_BYTES)


def encode_versions(keys: Mapping[int, bytes]) -> dict[str, str]:
    return {str(v): base64.b64encode(k).decode() for v, k in sorted(keys.items())}


def decode_versions(raw: Mapping[str, Any], where: str) -> dict[int, bytes]:
    """Versions → keys from ``{"1": "<base64>", ...}``; errors name ``where``, never a key."""
    keys: dict[int, bytes] = {}
    for name, value in raw.items():
        if not str(name).isdigit() or int(name) < 1:
            raise KeyCustodyError(
                f"{where}: {str(name)[:20]!r} is not a key version (use 1, 2, ...)."
            )
        keys[int(name)] = _decode_key(value, f"{where}, version {int(name)}")
    if not keys:
        raise KeyCustodyError(f"{where} holds no master key.")
    return keys


def _decode_key(value: Any, where: str) -> bytes:
    try:
        key = base64.b64decode(str(value).strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyCustodyError(f"{where}: the key is not valid base64.") from None
    if len(key) != MASTER_KEY_BYTES:
        raise KeyCustodyError(
            f"{where}: the key has {len(key)} bytes; a master key has "
            f"{MASTER_KEY_BYTES} (make one with `datafactory ttp keys rotate` or "
            "`head -c 32 /dev/urandom | base64`)."
        )
    return key


def _pick(keys: Mapping[int, bytes], version: int, where: str) -> bytes:
    key = keys.get(version)
    if key is None:
        held = ", ".join(str(v) for v in sorted(keys)) or "none"
        raise KeyCustodyError(
            f"Master key version {version} is missing from {where} (it holds version "
            f"{held}): these are not the keys the pseudonyms were made with."
        )
    return key


# --- a key file -------------------------------------------------------------------------


class KeyFileCustody:
    """Versions in a JSON file of mode 0600, created on first use.

    ``{"format": "datafactory-ttp-master-keys/1", "keys": {"1": "<base64>", ...}}``. The
    file is created atomically (written beside its name, then linked into place, so two
    processes starting together cannot each make a different first key), and rotation
    rewrites it under an exclusive lock.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def description(self) -> str:
        return f"the key file {self.path}"

    def current_version(self) -> int:
        return max(self._keys())

    def master_key(self, version: int) -> bytes:
        return _pick(self._keys(), version, self.description)

    def rotate(self) -> int:
        self._ensure()
        with self._locked():
            keys = self._read()
            version = max(keys) + 1
            keys[version] = new_master_key()
            self._write(keys, replace=True)
        return version

    def _keys(self) -> dict[int, bytes]:
        self._ensure()
        return self._read()

    def _ensure(self) -> None:
        if self.path.exists():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._write({1: new_master_key()}, replace=False)

    def _read(self) -> dict[int, bytes]:
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            raise KeyCustodyError(f"{self.description} is missing.") from None
        if mode & 0o077:
            raise KeyCustodyError(
                f"{self.description} can be read by other users (mode "
                f"{oct(mode & 0o777)[2:]}); run `chmod 600 {self.path}` and check who "
                "has seen it."
            )
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            raise KeyCustodyError(
                f"{self.description} is not a readable JSON key file."
            ) from None
        if not isinstance(document, dict) or not isinstance(document.get("keys"), dict):
            raise KeyCustodyError(
                f'{self.description} has no "keys" object of versions.'
            )
        return decode_versions(document["keys"], self.description)

    def _write(self, keys: Mapping[int, bytes], *, replace: bool) -> None:
        text = json.dumps(
            {"format": KEY_FILE_FORMAT, "keys": encode_versions(keys)}, indent=2
        )
        # mkstemp makes the file with mode 0600 before anything is written into it.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            if replace:
                os.replace(tmp, self.path)
            else:
                with contextlib.suppress(FileExistsError):  # another process was first
                    os.link(tmp, self.path)
        finally:
            Path(tmp).unlink(missing_ok=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


# --- a setting --------------------------------------------------------------------------


class EnvCustody:
    """Versions in one setting: ``"1:<base64>,2:<base64>"``, filled from a secret store.

    Read-only: a new version is added in the secret store, then the platform restarts.
    """

    def __init__(self, value: str, *, setting: str = ENV_SETTING) -> None:
        self.setting = setting
        self._keys = self._parse(value)

    @property
    def description(self) -> str:
        return f"the setting {self.setting}"

    def _parse(self, value: str) -> dict[int, bytes]:
        pairs: dict[str, str] = {}
        for part in value.replace("\n", ",").split(","):
            if not part.strip():
                continue
            version, sep, key = part.strip().partition(":")
            if not sep:
                raise KeyCustodyError(
                    f"{self.description}: write each key as VERSION:BASE64, separated "
                    "by commas."
                )
            if version.strip() in pairs:
                raise KeyCustodyError(
                    f"{self.description} names version {version.strip()[:20]} twice."
                )
            pairs[version.strip()] = key
        return decode_versions(pairs, self.description)

    def current_version(self) -> int:
        return max(self._keys)

    def master_key(self, version: int) -> bytes:
        return _pick(self._keys, version, self.description)

    def rotate(self) -> int:
        raise KeyCustodyError(
            f"The master keys come from {self.description}: rotate in your secret "
            f"store (add version {self.current_version() + 1} there) and restart."
        )


# --- HashiCorp Vault --------------------------------------------------------------------


class VaultKv2(Protocol):
    """The few calls of ``hvac.Client().secrets.kv.v2`` that the custody makes."""

    def read_secret_version(
        self,
        path: str,
        version: int | None = None,
        mount_point: str = ...,
        raise_on_deleted_version: bool | None = None,
    ) -> dict[str, Any]: ...

    def create_or_update_secret(
        self,
        path: str,
        secret: dict[str, Any],
        cas: int | None = None,
        mount_point: str = ...,
    ) -> dict[str, Any]: ...


class VaultCustody:
    """Every version in one KV v2 secret: ``{"1": "<base64>", "2": "<base64>"}``.

    We keep all versions in one secret rather than one Vault version per key version:
    Vault prunes old secret versions (``max_versions``, 10 by default), and a pruned
    master key would make every pseudonym made under it unrecoverable. One read gives the
    whole set, and rotation writes it back with check-and-set, so two operators rotating at
    once cannot lose a key. The secret is created on first use.
    """

    def __init__(self, kv: VaultKv2, path: str, mount_point: str = "secret") -> None:
        self.kv = kv
        self.path = path
        self.mount_point = mount_point
        self._cache: dict[int, bytes] = {}

    @classmethod
    def for_client(
        cls, client: Any, path: str, mount_point: str = "secret"
    ) -> VaultCustody:
        """From an ``hvac.Client`` (or anything with ``.secrets.kv.v2``)."""
        return cls(client.secrets.kv.v2, path, mount_point)

    @property
    def description(self) -> str:
        return f"the Vault secret {self.mount_point}/{self.path}"

    def current_version(self) -> int:
        keys, _ = self._load()
        return max(keys)

    def master_key(self, version: int) -> bytes:
        if version not in self._cache:
            self._load()
        return _pick(self._cache, version, self.description)

    def rotate(self) -> int:
        keys, secret_version = self._load()
        version = max(keys) + 1
        keys[version] = new_master_key()
        self._store(keys, cas=secret_version)
        self._cache = dict(keys)
        return version

    def _load(self) -> tuple[dict[int, bytes], int]:
        from hvac import exceptions  # type: ignore[import-untyped, unused-ignore]

        try:
            answer = self.kv.read_secret_version(
                path=self.path,
                mount_point=self.mount_point,
                raise_on_deleted_version=True,
            )
        except exceptions.InvalidPath:
            self._store({1: new_master_key()}, cas=0)
            return self._load()
        except Exception as exc:  # the client's own errors and the network's
            raise KeyCustodyError(
                f"Cannot read {self.description} ({type(exc).__name__})."
            ) from None
        try:
            data = answer["data"]["data"]
            secret_version = int(answer["data"]["metadata"]["version"])
        except (KeyError, TypeError, ValueError):
            raise KeyCustodyError(
                f"{self.description} is not a KV version 2 secret."
            ) from None
        keys = decode_versions(data, self.description)
        self._cache = dict(keys)
        return keys, secret_version

    def _store(self, keys: Mapping[int, bytes], *, cas: int) -> None:
        try:
            self.kv.create_or_update_secret(
                path=self.path,
                secret=encode_versions(keys),
                cas=cas,
                mount_point=self.mount_point,
            )
        except Exception as exc:  # check-and-set lost, no permission, network
            raise KeyCustodyError(
                f"Cannot write {self.description} ({type(exc).__name__}); if another "
                "operator rotated at the same moment, try again."
            ) from None


def open_vault(
    url: str, token_file: Path | None, path: str, mount_point: str
) -> VaultCustody:
    """A Vault custody through hvac; without a token file hvac reads ``VAULT_TOKEN``."""
    import hvac  # type: ignore[import-untyped, unused-ignore]

    token = token_file.read_text().strip() if token_file is not None else None
    return VaultCustody.for_client(hvac.Client(url=url, token=token), path, mount_point)


def open_custody(
    *,
    key_file: Path,
    master_keys: str | None = None,
    vault_url: str | None = None,
    vault_token_file: Path | None = None,
    vault_path: str = "datafactory/ttp-master-keys",
    vault_mount: str = "secret",
) -> KeyCustody:
    """The custody the settings name: Vault, else the setting, else the key file."""
    if vault_url and master_keys:
        raise KeyCustodyError(
            "Set either DATAFACTORY_TTP_VAULT_URL or DATAFACTORY_TTP_MASTER_KEYS, not both."
        )
    if vault_url:
        return open_vault(vault_url, vault_token_file, vault_path, vault_mount)
    if master_keys:
        return EnvCustody(master_keys)
    return KeyFileCustody(key_file)


# --- what is derived from a master key --------------------------------------------------


def _hkdf(master: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(
        master
    )


def sealing_key(master: bytes, domain: str, version: int) -> bytes:
    """The AES-SIV key that seals a domain's identifiers for re-identification. Its HKDF
    info differs from the pseudonym key's, so neither key tells anything of the other."""
    info = b"datafactory/ttp/re-identification/v1\x00" + domain.encode()
    return _hkdf(master, info + b"\x00" + str(version).encode(), SEALING_KEY_BYTES)


def lookup_audit_key(master: bytes) -> bytes:
    """The key of the hash that names a looked-up citizen in the ledger."""
    return _hkdf(master, b"datafactory/ttp/lookup-audit/v1", 32)


def lookup_ref(master: bytes, identifier: str) -> str:
    """A keyed hash of a normalised identifier: the ledger can say the same person was
    looked up twice, and nobody without the master key can tell who it was."""
    digest = hmac.new(lookup_audit_key(master), identifier.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def key_check(master: bytes) -> str:
    """A one-way fingerprint of a master key, kept in the database to catch a wrong key."""
    return _hkdf(master, b"datafactory/ttp/key-check/v1", 16).hex()
