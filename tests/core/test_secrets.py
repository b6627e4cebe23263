"""Secret references resolve from the environment first, then secrets.yaml, and can be redacted."""

from __future__ import annotations

from pathlib import Path

import pytest

from nxforge.secrets import MissingSecretError, SecretStore, redact


def test_environment_wins_over_file(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.yaml"
    secrets_file.write_text("METER_PW: from-file\nOTHER: other-file\n")
    store = SecretStore(secrets_file, environ={"METER_PW": "from-env"})
    assert store.resolve("${METER_PW}") == "from-env"
    assert store.resolve("user:${OTHER}@host") == "user:other-file@host"
    assert store.resolve("no reference") == "no reference"


def test_missing_secret_says_where_to_set_it(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets.yaml", environ={})
    with pytest.raises(MissingSecretError) as caught:
        store.resolve("${NOPE}")
    assert "NOPE" in str(caught.value) and "secrets.yaml" in str(caught.value)


def test_redact_scrubs_every_value_longest_first() -> None:
    assert redact("pw=abc123 and abc", ["abc", "abc123"]) == "pw=*** and ***"
