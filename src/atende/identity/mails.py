"""The account mails: e-mail verification, invitations and password reset.

Each carries a one-time token in a link into the team's app (``ATENDE_APP_URL``): the app
reads ``token`` from the query and calls the matching mutation (``verifyEmail``,
``acceptInvitation``, ``resetPassword``). The paths are part of the API (docs/api.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from atende.mail.messages import RenderedMail, layout, link, register

VERIFY_EMAIL_PATH = "/verify-email"
ACCEPT_INVITATION_PATH = "/accept-invitation"
RESET_PASSWORD_PATH = "/reset-password"  # noqa: S105 (a path)

#: How long each link works.
VERIFICATION_TTL = timedelta(days=2)
INVITATION_TTL = timedelta(days=7)
PASSWORD_RESET_TTL = timedelta(hours=1)

_ROLE_NAMES = {"owner": "proprietário(a)", "admin": "administrador(a)", "agent": "atendente"}


def _mail(
    *, title: str, paragraphs: list[str], action: str, url: str, footnote: str
) -> RenderedMail:
    text = "\n\n".join([*paragraphs, f"{action}: {url}", footnote]) + "\n\n-- \nAtende\n"
    return RenderedMail(
        subject=title,
        text=text,
        html=layout(title=title, paragraphs=[*paragraphs, footnote], action=(action, url)),
    )


@register("verify_email")
def verify_email_mail(params: Mapping[str, str], link_base: str) -> RenderedMail:
    return _mail(
        title="Confirme seu e-mail no Atende",
        paragraphs=[
            f"Olá, {params['full_name']}!",
            "Confirme que este endereço é seu para que possam convidá-lo(a) a outras "
            "organizações no Atende.",
        ],
        action="Confirmar e-mail",
        url=link(link_base, VERIFY_EMAIL_PATH, token=params["token"]),
        footnote=(
            "O link vale por 48 horas. Se não foi você quem se cadastrou, ignore esta mensagem."
        ),
    )


@register("invitation")
def invitation_mail(params: Mapping[str, str], link_base: str) -> RenderedMail:
    role = _ROLE_NAMES.get(params["role"], params["role"])
    return _mail(
        title=f"Convite para {params['organization_name']} no Atende",
        paragraphs=[
            f"{params['inviter_name']} convidou você para fazer parte de "
            f"{params['organization_name']} no Atende, como {role}.",
            "Aceite o convite para escolher seu nome e sua senha, ou entre com a conta "
            "que você já tem neste e-mail.",
        ],
        action="Aceitar o convite",
        url=link(link_base, ACCEPT_INVITATION_PATH, token=params["token"]),
        footnote="O convite vale por 7 dias. Se você não esperava por ele, ignore esta mensagem.",
    )


@register("reset_password")
def reset_password_mail(params: Mapping[str, str], link_base: str) -> RenderedMail:
    return _mail(
        title="Redefina sua senha do Atende",
        paragraphs=[
            f"Olá, {params['full_name']}!",
            "Recebemos um pedido para redefinir a senha da sua conta. Ao escolher a nova "
            "senha, todas as sessões abertas com a senha antiga são encerradas.",
        ],
        action="Escolher nova senha",
        url=link(link_base, RESET_PASSWORD_PATH, token=params["token"]),
        footnote=(
            "O link vale por 1 hora. Se não foi você quem pediu, ignore esta mensagem: "
            "sua senha continua a mesma."
        ),
    )
