"""Tests for bridge/clearing/credentials.py: a secret file read again when it changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bridge.clearing.credentials import SecretFile, read_password


def test_a_changed_file_is_read_again_and_a_broken_one_keeps_the_last_secret(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("old-secret\n")
    os.chmod(path, 0o600)
    secret = SecretFile(path, "password_file")
    assert secret() == "old-secret" and "old-secret" not in repr(secret)
    path.write_text("new-secret-longer\n")
    assert secret() == "new-secret-longer" and secret.reloads == 1
    path.write_text("")
    assert secret() == "new-secret-longer"  # empty: the last good one
    path.unlink()
    assert secret() == "new-secret-longer"


def test_a_missing_secret_at_start_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="api_key_file"):
        SecretFile(tmp_path / "absent", "api_key_file")
    (tmp_path / "empty").write_text("  \n")
    with pytest.raises(ValueError, match="empty"):
        read_password(tmp_path / "empty")
