"""The webhooks module's mail: an endpoint Atende disabled after days of failures."""

from __future__ import annotations

from collections.abc import Mapping

from atende.mail.messages import RenderedMail, layout, link, register

#: Where the team's app shows the organization's webhook endpoints.
WEBHOOKS_PATH = "/settings/webhooks"


@register("webhook_endpoint_disabled")
def endpoint_disabled_mail(params: Mapping[str, str], link_base: str) -> RenderedMail:
    title = f"Webhook desativado em {params['organization_name']}"
    paragraphs = [
        f"Olá, {params['full_name']}!",
        f"Desde {params['failing_since']}, nenhuma entrega para {params['url']} foi aceita "
        "(o endereço não respondeu com 2xx). Para não acumular tentativas, o Atende "
        "desativou este webhook.",
        "Corrija o receptor e ative o webhook de novo: as entregas que falharam podem ser "
        "reenviadas uma a uma.",
    ]
    url = link(link_base, WEBHOOKS_PATH)
    action = "Ver os webhooks"
    return RenderedMail(
        subject=title,
        text="\n\n".join([*paragraphs, f"{action}: {url}"]) + "\n\n-- \nAtende\n",
        html=layout(title=title, paragraphs=paragraphs, action=(action, url)),
    )
