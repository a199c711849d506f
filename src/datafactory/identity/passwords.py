"""Password hashing with Argon2id.

The parameters are OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): argon2-cffi's
default (64 MiB, 3 passes, 4 lanes) took 0.8 s a hash on our 2-core machines, which turns
sign-in into a denial-of-service lever. Hashes carry their parameters, so raising them later
still verifies old hashes.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from datafactory.core.errors import FieldError, InvalidInput

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the account does not exist, so that an unknown address takes as
# long to refuse as a wrong password and cannot be told apart by timing.
_DUMMY_HASH = _hasher.hash("not-a-real-password-datafactory")

MIN_LENGTH = 12


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            "The password is too short.",
            errors=[FieldError("password", f"Use at least {MIN_LENGTH} characters.")],
        )


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and (
            password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False
