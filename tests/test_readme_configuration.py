"""README's "Configuration" table says what `atende.config.Settings` does: every setting
is in the table, every variable in the table is a setting, and each default is the one
the table shows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from atende.config import (
    DEVELOPMENT_JWT_SECRET,
    DEVELOPMENT_SECRET_KEY,
    Environment,
    Settings,
    describe_settings_error,
    environment_variable_for,
)

README = Path(__file__).resolve().parents[1] / "README.md"

#: How the table writes a default that is not a value.
NO_VALUE = ("unset", "none", "found")
DEVELOPMENT_VALUES = {
    "ATENDE_JWT_SECRET": DEVELOPMENT_JWT_SECRET,
    "ATENDE_SECRET_KEY": DEVELOPMENT_SECRET_KEY,
}


def configuration_table() -> dict[str, str]:
    """Variable -> the default column, as written, from README's configuration table."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    table: dict[str, str] = {}
    for row in rows:
        variables, default, _meaning = (cell.strip() for cell in row.strip("|").split("|", 2))
        names = re.findall(r"`([A-Z0-9_]+)`", variables)
        # `A` / `B` with `1` / `2`: one default per variable, in order; one for all.
        defaults = default.split(" / ") if " / " in default else [default] * len(names)
        assert len(defaults) == len(names), row
        table.update(zip(names, defaults, strict=True))
    return table


def variables_of_settings() -> dict[str, str]:
    """Environment variable -> settings field, for every field."""
    return {environment_variable_for(name): name for name in Settings.model_fields}


def plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path):
        return str(value)
    return getattr(value, "value", value)  # enums as their names in the environment


def test_the_table_names_every_setting_and_only_settings() -> None:
    documented = set(configuration_table())
    settings = set(variables_of_settings())

    assert sorted(settings - documented) == []  # a setting the README does not mention
    assert sorted(documented - settings) == []  # a row no setting reads


@pytest.mark.parametrize("variable", sorted(configuration_table()))
def test_each_default_is_the_one_the_table_shows(variable: str) -> None:
    written = configuration_table()[variable]
    field = variables_of_settings()[variable]
    value = plain(getattr(Settings(), field))

    if variable in DEVELOPMENT_VALUES:
        assert written == "development value"
        assert value == DEVELOPMENT_VALUES[variable]
    elif written.startswith(NO_VALUE):
        assert value in (None, []), f"{variable} defaults to {value!r}, the README says {written}"
    else:
        shown, *in_production = re.findall(r"`([^`]*)`", written)
        assert_shows(shown, value, variable)
        if in_production:  # `default` (`other` in production)
            assert written.endswith(" in production)"), written
            production = Settings(
                env=Environment.PRODUCTION,
                jwt_secret=SecretStr("j" * 32),
                secret_key=SecretStr("s" * 32),
            )
            assert_shows(in_production[0], plain(getattr(production, field)), variable)


def assert_shows(shown: str, value: Any, variable: str) -> None:
    if isinstance(value, bool):
        assert shown == str(value).lower(), f"{variable} is {value}, the README says {shown}"
    elif isinstance(value, int | float):
        assert float(shown) == value, f"{variable} is {value}, the README says {shown}"
    else:
        assert shown == value, f"{variable} is {value!r}, the README says {shown}"


def test_the_public_url_does_not_follow_the_port() -> None:
    settings = Settings(port=9000)

    assert settings.public_url == "http://127.0.0.1:8000"


@pytest.mark.parametrize("variable", ["ATENDE_JWT_SECRET", "ATENDE_SECRET_KEY"])
def test_production_refuses_each_development_secret(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATENDE_ENV", "production")
    monkeypatch.setenv("ATENDE_JWT_SECRET", "j" * 32)
    monkeypatch.setenv("ATENDE_SECRET_KEY", "s" * 32)
    monkeypatch.setenv(variable, DEVELOPMENT_VALUES[variable])

    with pytest.raises(ValidationError, match=f"{variable} must be set in production"):
        Settings()


@pytest.mark.parametrize("variable", ["ATENDE_JWT_SECRET", "ATENDE_SECRET_KEY"])
def test_secrets_have_32_characters_or_more(variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(variable, "x" * 32)
    Settings()
    monkeypatch.setenv(variable, "x" * 31)

    with pytest.raises(ValidationError) as refused:
        Settings()
    assert describe_settings_error(refused.value).startswith(f"{variable}: ")


def test_the_supabase_identity_provider_needs_its_url_and_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATENDE_IDENTITY_PROVIDER", "supabase")
    monkeypatch.setenv("SUPABASE_URL", "https://project.supabase.co")

    with pytest.raises(ValidationError, match="SUPABASE_SERVICE_ROLE_KEY"):
        Settings()
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", "service-role-key")
    assert Settings().identity_provider.value == "supabase"
