"""Account tests hash with light argon2id parameters: the same code path, a fraction of the
time (the production parameters cost ~0.25 s a hash on a loaded 2-core machine)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from kefu.accounts import passwords


@pytest.fixture(autouse=True)
def light_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with 1 pass over 1 MiB (still `$argon2id$`, still verified for real)."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                             parallelism=1))  # fmt: skip
    monkeypatch.setattr(passwords, "_DUMMY", passwords._hasher.hash("dummy"))
