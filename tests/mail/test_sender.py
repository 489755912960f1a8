"""ATENDE_SMTP_URL says how to reach the server, and never shows its password."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from atende.config import Settings, describe_settings_error
from atende.mail.messages import UnknownMailKind, build_message, link, render
from atende.mail.sender import InvalidSmtpUrl, Mailer, SmtpTarget


def test_smtp_with_credentials_upgrades_with_starttls_when_offered() -> None:
    target = SmtpTarget.from_url("smtp://no-reply%40atende.dev:p%40ss@mail.example:2525")

    assert (target.hostname, target.port, target.use_tls, target.start_tls) == (
        "mail.example",
        2525,
        False,
        None,
    )
    assert (target.username, target.password) == ("no-reply@atende.dev", "p@ss")
    assert target.describe() == "smtp://mail.example:2525"


@pytest.mark.parametrize(
    ("url", "port", "use_tls", "start_tls"),
    [
        ("smtp://mail.example", 587, False, None),
        ("smtp://mail.example?starttls=required", 587, False, True),
        ("smtp://127.0.0.1:1025?starttls=false", 1025, False, False),
        ("smtps://mail.example", 465, True, False),
    ],
)
def test_the_scheme_and_parameter_choose_tls(
    url: str, port: int, use_tls: bool, start_tls: bool | None
) -> None:
    target = SmtpTarget.from_url(url)

    assert (target.port, target.use_tls, target.start_tls) == (port, use_tls, start_tls)


@pytest.mark.parametrize(
    "url",
    [
        "smtp://user:hunter2-secret@mail.example:notaport",
        "smtp://user:hunter2-secret@mail.example?starttls=maybe",
        "smtp://user:hunter2-secret@mail.example?timeout=soon",
        "http://user:hunter2-secret@mail.example",
    ],
)
def test_a_malformed_url_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(InvalidSmtpUrl) as refused:
        SmtpTarget.from_url(url)

    assert "hunter2" not in str(refused.value)


def test_settings_refuse_another_scheme_without_showing_the_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATENDE_SMTP_URL", "mailto://user:hunter2-secret@mail.example")

    with pytest.raises(ValidationError) as refused:
        Settings()
    described = describe_settings_error(refused.value)
    assert described.startswith("ATENDE_SMTP_URL: ")
    assert "hunter2" not in described


def test_settings_keep_the_smtp_url_secret() -> None:
    settings = Settings(smtp_url=SecretStr("smtp://user:hunter2-secret@mail.example"))

    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())


def test_links_come_from_the_app_url_else_the_public_url() -> None:
    assert Settings(app_url="https://app.example/").mail_link_base == "https://app.example"
    assert Settings(public_url="https://api.example").mail_link_base == "https://api.example"
    assert (
        link("https://app.example", "/convite", token="a b&c")
        == "https://app.example/convite?token=a+b%26c"
    )


def test_a_mail_has_plain_text_then_html() -> None:
    mail = render("test", {}, "https://app.example")
    message = build_message(
        mail_from="Atende <no-reply@atende.dev>", recipient="dona@loja.example", mail=mail
    )

    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert message["Message-ID"].endswith("@atende.dev>")


def test_an_unknown_kind_is_a_bug_of_the_caller() -> None:
    with pytest.raises(UnknownMailKind):
        render("nope", {}, "https://app.example")


def test_the_mailer_uses_the_settings() -> None:
    mailer = Mailer(
        Settings(smtp_url=SecretStr("smtps://u:p@mail.example"), app_url="https://app.example")
    )

    assert mailer.target is not None
    assert mailer.target.describe() == "smtps://mail.example:465"
    assert mailer.link_base == "https://app.example"
    assert Mailer(Settings()).target is None
