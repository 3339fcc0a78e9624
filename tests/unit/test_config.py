from __future__ import annotations

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.config import VARIABLES, load_settings, markdown_table
from gateway.errors import ConfigError


def test_defaults_use_the_embedded_sqlite_file(tmp_path) -> None:
    settings = load_settings({"BUDSTIKKE_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'budstikke.db'}"
    assert settings.redis_url is None
    assert settings.port == 8000
    assert settings.embedded_database


def test_unknown_variable_is_named_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"unknown setting BUDSTIKKE_PROT.*BUDSTIKKE_PORT"):
        load_settings({"BUDSTIKKE_PROT": "80"})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BUDSTIKKE_PORT", "eighty", "BUDSTIKKE_PORT='eighty'"),
        ("BUDSTIKKE_PORT", "70000", "between 1 and 65535"),
        ("BUDSTIKKE_DATABASE_URL", "mysql://x/y", "postgresql:// or sqlite://"),
        ("BUDSTIKKE_REDIS_URL", "localhost:6379", "redis://"),
        ("BUDSTIKKE_DEFAULT_TIME_ZONE", "Europe/Atlantis", "IANA"),
        ("BUDSTIKKE_LOG_FORMAT", "xml", "BUDSTIKKE_LOG_FORMAT"),
        ("BUDSTIKKE_DEMO", "maybe", "true or false"),
    ],
)
def test_bad_values_stop_startup_naming_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({name: value})


def test_test_only_variables_and_other_prefixes_are_ignored() -> None:
    settings = load_settings(
        {"BUDSTIKKE_TEST_POSTGRES_URL": "postgresql://x", "PORT": "1", "BUDSTIKKE_PORT": "9000"}
    )
    assert settings.port == 9000


def test_markdown_table_lists_every_variable() -> None:
    table = markdown_table()
    for variable in VARIABLES:
        assert f"`{variable.name}`" in table


def test_config_command_does_not_print_secrets(tmp_path) -> None:
    result = CliRunner().invoke(
        main,
        ["config"],
        env={
            "BUDSTIKKE_DATA_DIR": str(tmp_path),
            "BUDSTIKKE_SMTP_HOST": "smtp.example.dk",
            "BUDSTIKKE_SMTP_USERNAME": "budstikke",
            "BUDSTIKKE_SMTP_PASSWORD": "hunter2-very-secret",
        },
    )
    assert result.exit_code == 0, result.output
    assert "smtp.example.dk" in result.output
    assert "hunter2-very-secret" not in result.output
    assert "smtp_password = (set, not shown)" in result.output
