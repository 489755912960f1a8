"""The mails Atende sends, rendered: subject, plain text and HTML, in Brazilian Portuguese.

Each kind is a function of its parameters and the base of links (``ATENDE_APP_URL``) to
a ``RenderedMail``; ``register`` adds one (the verification, invitation and password
mails register theirs). ``build_message`` makes the ``EmailMessage`` that goes out.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import urlencode

from atende.errors import AtendeError


class UnknownMailKind(AtendeError):
    """No template is registered under that kind (a bug in the caller)."""


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


#: kind -> render(params, link_base).
Template = Callable[[Mapping[str, str], str], RenderedMail]

TEMPLATES: dict[str, Template] = {}


def register(kind: str) -> Callable[[Template], Template]:
    """Register the decorated function as the template of ``kind``."""

    def add(template: Template) -> Template:
        TEMPLATES[kind] = template
        return template

    return add


def render(kind: str, params: Mapping[str, str], link_base: str) -> RenderedMail:
    try:
        template = TEMPLATES[kind]
    except KeyError:
        raise UnknownMailKind(f"no mail template {kind!r}") from None
    return template(params, link_base)


def link(link_base: str, path: str, **query: str) -> str:
    """An absolute link into the team's app: ``link_base`` + ``path`` + query."""
    url = f"{link_base.rstrip('/')}/{path.lstrip('/')}"
    return f"{url}?{urlencode(query)}" if query else url


def layout(*, title: str, paragraphs: list[str], action: tuple[str, str] | None = None) -> str:
    """The HTML part: a title, paragraphs (plain text, escaped here) and a button."""
    body = [f'<h1 style="font-size:20px">{html.escape(title)}</h1>']
    body += [f"<p>{html.escape(paragraph)}</p>" for paragraph in paragraphs]
    if action is not None:
        label, url = action
        body.append(
            f'<p><a href="{html.escape(url, quote=True)}" style="display:inline-block;'
            "padding:10px 16px;background:#128c7e;color:#ffffff;text-decoration:none;"
            f'border-radius:6px">{html.escape(label)}</a></p>'
        )
        body.append(
            '<p style="color:#666666;font-size:12px">Se o botão não funcionar, copie e cole '
            f"este endereço no navegador: {html.escape(url)}</p>"
        )
    return (
        '<!doctype html>\n<html lang="pt-BR"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n"
        '<body style="font-family:Arial,sans-serif;color:#222222">\n'
        + "\n".join(body)
        + '\n<p style="color:#666666;font-size:12px">Atende</p>\n</body></html>\n'
    )


@register("test")
def test_mail(params: Mapping[str, str], link_base: str) -> RenderedMail:
    """A mail that proves the SMTP setup works, with a link to the app."""
    url = link(link_base, "/")
    title = "Teste de e-mail do Atende"
    intro = "Se você recebeu esta mensagem, o envio de e-mails do Atende está funcionando."
    return RenderedMail(
        subject=title,
        text=f"{intro}\n\nAbra o Atende: {url}\n\n-- \nAtende\n",
        html=layout(title=title, paragraphs=[intro], action=("Abrir o Atende", url)),
    )


def build_message(*, mail_from: str, recipient: str, mail: RenderedMail) -> EmailMessage:
    """The message that goes out: plain text first, then HTML (multipart/alternative)."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(mail.text, charset="utf-8")
    message.add_alternative(mail.html, subtype="html", charset="utf-8")
    return message
