"""Key custody: a 0600 key file, a setting, Vault (through a test double of the few hvac
calls used); rotation keeps every version; errors are clear and never show a key."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
from typing import Any

import pytest
from hvac import exceptions as hvac_exceptions

from datafactory.core.errors import ConfigurationError
from datafactory.privacy.pseudonyms import derive_domain_key
from datafactory.ttp.errors import KeyCustodyError
from datafactory.ttp.keys import (
    EnvCustody,
    KeyFileCustody,
    VaultCustody,
    key_check,
    lookup_ref,
    open_custody,
    sealing_key,
)

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


# --- the key file -----------------------------------------------------------------------


def test_a_missing_key_file_is_created_owner_only_with_one_random_key(tmp_path):
    path = tmp_path / "keys" / "ttp-master.json"
    custody = KeyFileCustody(path)
    assert custody.current_version() == 1
    key = custody.master_key(1)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["keys"] == {"1": b64(key)}
    assert KeyFileCustody(path).master_key(1) == key, "read back, not made again"
    assert [p.name for p in path.parent.iterdir()] == ["ttp-master.json"]


def test_two_custodies_creating_the_file_at_once_agree_on_one_key(tmp_path):
    path = tmp_path / "ttp-master.json"
    keys: list[bytes] = []
    start = threading.Barrier(8)

    def first_use() -> None:
        start.wait()
        keys.append(KeyFileCustody(path).master_key(1))

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1


def test_rotation_adds_a_version_and_keeps_the_old_ones(tmp_path):
    custody = KeyFileCustody(tmp_path / "k.json")
    first = custody.master_key(1)
    assert custody.rotate() == 2
    assert custody.rotate() == 3
    assert custody.current_version() == 3
    assert custody.master_key(1) == first
    assert len({custody.master_key(v) for v in (1, 2, 3)}) == 3
    assert stat.S_IMODE((tmp_path / "k.json").stat().st_mode) == 0o600


def test_a_key_file_others_can_read_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "k.json"
    custody = KeyFileCustody(path)
    custody.current_version()
    os.chmod(path, 0o644)
    with pytest.raises(KeyCustodyError) as refused:
        custody.master_key(1)
    assert f"chmod 600 {path}" in refused.value.detail
    assert isinstance(refused.value, ConfigurationError)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("not json", "not a readable JSON key file"),
        ('{"keys": []}', 'no "keys" object'),
        ('{"keys": {}}', "holds no master key"),
        ('{"keys": {"one": "AAAA"}}', "is not a key version"),
        ('{"keys": {"1": "%%%%"}}', "not valid base64"),
        ('{"keys": {"1": "AAAA"}}', "the key has 3 bytes"),
    ],
    ids=["not-json", "no-keys", "empty", "bad-version", "bad-base64", "short-key"],
)
def test_a_broken_key_file_says_what_is_wrong(tmp_path, content, says):
    path = tmp_path / "k.json"
    path.write_text(content)
    os.chmod(path, 0o600)
    with pytest.raises(KeyCustodyError) as refused:
        KeyFileCustody(path).master_key(1)
    assert says in refused.value.detail


def test_a_missing_version_is_a_clear_error_that_shows_no_key(tmp_path):
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"keys": {"1": b64(KEY_A)}}))
    os.chmod(path, 0o600)
    with pytest.raises(KeyCustodyError) as refused:
        KeyFileCustody(path).master_key(2)
    detail = refused.value.detail
    assert "version 2 is missing" in detail and "holds version 1" in detail
    assert b64(KEY_A) not in detail


# --- the setting ------------------------------------------------------------------------


def test_the_setting_holds_numbered_versions():
    custody = EnvCustody(f"1:{b64(KEY_A)}, 2:{b64(KEY_B)}")
    assert custody.current_version() == 2
    assert custody.master_key(1) == KEY_A and custody.master_key(2) == KEY_B


def test_the_setting_cannot_rotate_itself():
    custody = EnvCustody(f"1:{b64(KEY_A)}")
    with pytest.raises(KeyCustodyError, match="rotate in your secret store"):
        custody.rotate()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "holds no master key"),
        (b64(KEY_A), "VERSION:BASE64"),
        (f"1:{b64(KEY_A)},1:{b64(KEY_B)}", "names version 1 twice"),
        (f"1:{b64(KEY_A)[:-4]}", "the key has 30 bytes"),
    ],
    ids=["empty", "no-version", "twice", "short"],
)
def test_a_broken_setting_is_named_without_its_value(value, says):
    with pytest.raises(KeyCustodyError) as refused:
        EnvCustody(value)
    assert says in refused.value.detail
    assert "DATAFACTORY_TTP_MASTER_KEYS" in refused.value.detail
    assert b64(KEY_A) not in refused.value.detail
    assert b64(KEY_A)[:-4] not in refused.value.detail


# --- Vault ------------------------------------------------------------------------------


class FakeKv2:
    """The KV v2 calls of hvac that VaultCustody makes, with Vault's check-and-set."""

    def __init__(self) -> None:
        self.versions: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[str] = []
        self.fail_reads = False

    def read_secret_version(
        self, path, version=None, mount_point="secret", raise_on_deleted_version=None
    ):
        self.calls.append(f"read {mount_point}/{path}")
        assert raise_on_deleted_version is True, "hvac warns unless it is given"
        if self.fail_reads:
            raise hvac_exceptions.Forbidden("permission denied")
        history = self.versions.get(f"{mount_point}/{path}")
        if not history:
            raise hvac_exceptions.InvalidPath()
        return {
            "data": {
                "data": dict(history[-1]),
                "metadata": {"version": len(history)},
            }
        }

    def create_or_update_secret(self, path, secret, cas=None, mount_point="secret"):
        self.calls.append(f"write {mount_point}/{path} cas={cas}")
        history = self.versions.setdefault(f"{mount_point}/{path}", [])
        if cas is not None and cas != len(history):
            raise hvac_exceptions.InvalidRequest(
                "check-and-set parameter did not match"
            )
        history.append(dict(secret))
        return {"data": {"version": len(history)}}


class FakeClient:
    def __init__(self, kv: FakeKv2) -> None:
        self.secrets = type("Secrets", (), {"kv": type("Kv", (), {"v2": kv})})()


def test_vault_custody_creates_its_secret_once_and_rotates_with_check_and_set():
    kv = FakeKv2()
    custody = VaultCustody.for_client(FakeClient(kv), "datafactory/ttp", "kv")
    assert custody.current_version() == 1
    first = custody.master_key(1)
    assert kv.calls[:3] == [
        "read kv/datafactory/ttp",
        "write kv/datafactory/ttp cas=0",
        "read kv/datafactory/ttp",
    ]
    assert custody.rotate() == 2
    assert kv.calls[-1] == "write kv/datafactory/ttp cas=1"
    again = VaultCustody(kv, "datafactory/ttp", "kv")
    assert again.current_version() == 2
    assert again.master_key(1) == first
    assert set(kv.versions["kv/datafactory/ttp"][-1]) == {"1", "2"}


def test_vault_rotation_that_lost_a_race_says_so_and_keeps_the_other_key():
    kv = FakeKv2()
    mine = VaultCustody(kv, "p")
    theirs = VaultCustody(kv, "p")
    mine.current_version()
    original_read = kv.read_secret_version

    def read_then_lose_race(**kwargs):
        answer = original_read(**kwargs)
        if not getattr(read_then_lose_race, "done", False):
            read_then_lose_race.done = True
            theirs.rotate()
        return answer

    kv.read_secret_version = read_then_lose_race
    with pytest.raises(KeyCustodyError, match="try again"):
        mine.rotate()
    assert VaultCustody(kv, "p").current_version() == 2


def test_an_unreadable_vault_secret_is_a_clear_error():
    kv = FakeKv2()
    kv.fail_reads = True
    with pytest.raises(
        KeyCustodyError, match=r"Cannot read the Vault secret secret/p \(Forbidden\)"
    ):
        VaultCustody(kv, "p").master_key(1)


def test_a_vault_version_that_is_not_there_is_named():
    kv = FakeKv2()
    kv.versions["secret/p"] = [{"1": b64(KEY_A)}]
    with pytest.raises(
        KeyCustodyError, match="version 3 is missing from the Vault secret"
    ):
        VaultCustody(kv, "p").master_key(3)


# --- choosing a custody -----------------------------------------------------------------


def test_the_settings_choose_the_custody(tmp_path):
    path = tmp_path / "k.json"
    assert isinstance(open_custody(key_file=path), KeyFileCustody)
    assert isinstance(
        open_custody(key_file=path, master_keys=f"1:{b64(KEY_A)}"), EnvCustody
    )
    with pytest.raises(KeyCustodyError, match="not both"):
        open_custody(
            key_file=path, master_keys=f"1:{b64(KEY_A)}", vault_url="http://vault"
        )
    assert not path.exists(), "choosing makes no key"


# --- derivations ------------------------------------------------------------------------


def test_each_derived_key_is_separate_from_the_others():
    seal = sealing_key(KEY_A, "sector:health", 1)
    assert len(seal) == 64
    domain = derive_domain_key(KEY_A, "sector:health", 1)
    assert domain not in seal
    assert sealing_key(KEY_A, "sector:health", 2) != seal
    assert sealing_key(KEY_A, "sector:jobs", 1) != seal
    assert sealing_key(KEY_B, "sector:health", 1) != seal
    assert key_check(KEY_A) != key_check(KEY_B)
    assert len(key_check(KEY_A)) == 32
    assert lookup_ref(KEY_A, "1893120105732") == lookup_ref(KEY_A, "1893120105732")
    assert lookup_ref(KEY_A, "1893120105732") != lookup_ref(KEY_B, "1893120105732")
    assert "1893120105732" not in lookup_ref(KEY_A, "1893120105732")
