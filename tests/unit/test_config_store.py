"""The ``store`` setting: empty is the SQLite file in the data directory, a PostgreSQL URL is
PostgreSQL; anything else is refused naming the key; a URL's password is never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from latchwork.server.config import ConfigError, load_settings
from latchwork.server.store_location import is_postgres, masked, passwords, redacted


def test_empty_is_the_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(env={"LATCHWORK_DATA_DIR": str(tmp_path)})
    assert settings.store == ""
    assert settings.store_location == tmp_path / "latchwork.db"
    assert settings.store_name == str(tmp_path / "latchwork.db")


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_postgres_url_from_file_variable_or_flag(tmp_path: Path, scheme: str) -> None:
    url = f"{scheme}://farm:s3cret@db.example:5433/latchwork"
    config = tmp_path / "latchwork.toml"
    config.write_text(f'[supervisor]\nstore = "{url}"\n')
    assert load_settings(config_file=config, env={}).store_location == url
    assert load_settings(env={"LATCHWORK_STORE": url}).store == url
    assert load_settings(env={}, store=url).store == url
    assert load_settings(env={}, store=url).store_name == (
        f"{scheme}://farm:***@db.example:5433/latchwork"
    )


def test_another_scheme_is_refused_naming_the_key_and_masking_the_password() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(env={"LATCHWORK_STORE": "mysql://farm:s3cret@db/latchwork"})
    assert "store = 'mysql://farm:***@db/latchwork'" in str(refused.value)
    assert "postgresql://" in str(refused.value)
    assert "s3cret" not in str(refused.value)
    with pytest.raises(ConfigError, match=r"store = '/srv/latchwork\.db'"):
        load_settings(env={}, store="/srv/latchwork.db")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:pw@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql://h/db?user=u&password=pw&sslmode=require", None),
        ("postgresql://u:p%40w@h1:5432,h2:5433/db", "postgresql://u:***@h1:5432,h2:5433/db"),
        ("postgresql://u:a?b@h/db", "postgresql://u:***@h/db"),
        ("postgresql:///db?host=/run/postgresql", "postgresql:///db?host=/run/postgresql"),
    ],
)
def test_masked(url: str, shown: str | None) -> None:
    assert is_postgres(url)
    expected = shown or "postgresql://h/db?user=u&password=***&sslmode=require"
    assert masked(url) == expected


def test_a_path_is_shown_as_it_is() -> None:
    assert not is_postgres(Path("/srv/latchwork/latchwork.db"))
    assert masked(Path("/srv/latchwork/latchwork.db")) == "/srv/latchwork/latchwork.db"
    assert passwords(Path("/srv/x:y@z/latchwork.db")) == []


def test_redacted_removes_the_password_in_every_spelling() -> None:
    url = "postgresql://u:p%40ss@h/db?password=zz"
    message = f"cannot reach {url}: the server said p@ss, p%40ss and zz are wrong"
    cleaned = redacted(message, url)
    assert cleaned == (
        "cannot reach postgresql://u:***@h/db?password=***: the server said ***, *** and *** "
        "are wrong"
    )
