"""The demo workspace ``make dev`` starts with: an organization, its owner, a channel and a
knowledge base (the bakery's menu and hours).

So a new developer can sign in to the playground and write to the bot as a customer
(``atende simulate``) right away, without registering anything first. It is made through
the product's own services (registration, channel creation as the owner), only on a
development setup that talks to the local Twilio simulator, and only once: a second run
finds it and changes nothing.

Its channel is not verified with Twilio: it is made before the simulator starts, with
the simulator's own demo account, to which ``run_simulator`` gives the demo number (so
changing its credentials in the playground is verified as anywhere else).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from atende.channels import service as channels
from atende.channels.crypto import TokenCipher
from atende.config import Environment, IdentityProviderName, Settings
from atende.db.session import Caller
from atende.devtools.twilio_simulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, DEMO_CHANNEL_NUMBER
from atende.identity.errors import EmailAlreadyRegistered
from atende.knowledge import service as knowledge
from atende.knowledge.extraction import from_text
from atende.services import open_services

__all__ = [
    "DEMO_ACCOUNT_SID",
    "DEMO_AUTH_TOKEN",
    "DEMO_CHANNEL_NUMBER",
    "DEMO_CUSTOMER_NUMBER",
    "DEMO_EMAIL",
    "DEMO_ORGANIZATION",
    "DEMO_OWNER_NAME",
    "DEMO_PASSWORD",
    "DemoWorkspace",
    "ensure_demo_workspace",
    "wants_demo_workspace",
]

DEMO_ORGANIZATION = "Padaria Pão Quente (demo)"
DEMO_OWNER_NAME = "Dona Ana"
DEMO_EMAIL = "demo@atende.dev"
# Development only, printed in the banner: the demo exists on a developer's machine alone.
DEMO_PASSWORD = "atende-demo"  # noqa: S105
DEMO_CUSTOMER_NUMBER = "+5521988887777"
#: The demo bakery's knowledge base (one document).
DEMO_MENU = """# Padaria Pão Quente

## Horário

Abrimos de segunda a sábado das 6h às 20h e aos domingos das 7h às 13h.

## Pães e bolos

Pão francês: R$ 18,90 o quilo. Pão de queijo: R$ 4,50 a unidade.
Bolo de cenoura com cobertura de chocolate: R$ 48,00 inteiro ou R$ 9,00 a fatia.

## Encomendas

Bolos de aniversário por encomenda com 3 dias de antecedência, sinal de 50% via Pix.

## Entrega e pagamento

Entregamos num raio de 5 km por R$ 7,00; acima de R$ 150,00 a entrega é grátis.
Aceitamos Pix, cartões de débito e crédito e vale-refeição.
"""


@dataclass(frozen=True)
class DemoWorkspace:
    organization_id: UUID
    created: bool


def wants_demo_workspace(settings: Settings) -> bool:
    """Only a development setup with the local identity provider and the simulator."""
    return (
        settings.env is Environment.DEVELOPMENT
        and settings.identity_provider is IdentityProviderName.LOCAL
        and settings.twilio_api_base_url is None
    )


async def ensure_demo_workspace(settings: Settings) -> DemoWorkspace:
    async with open_services(settings, name="atende-dev") as services:
        identity = services.identity
        try:
            registration = await identity.register_organization(
                organization_name=DEMO_ORGANIZATION,
                full_name=DEMO_OWNER_NAME,
                email=DEMO_EMAIL,
                password=DEMO_PASSWORD,
            )
        except EmailAlreadyRegistered:
            async with services.database.transaction(Caller.service()) as conn:
                row = await (
                    await conn.execute(
                        "select m.organization_id from public.memberships as m"
                        " join public.profiles as p on p.id = m.user_id"
                        " where lower(p.email) = %s order by m.created_at limit 1",
                        [DEMO_EMAIL],
                    )
                ).fetchone()
            if row is None:
                raise
            return DemoWorkspace(organization_id=row["organization_id"], created=False)

        owner = Caller.user(
            {"sub": str(registration.user.id), "role": "authenticated", "email": DEMO_EMAIL}
        )
        async with services.database.transaction(owner) as conn:
            await channels.create_channel(
                conn,
                TokenCipher.from_settings(settings),
                channels.NewChannel(
                    organization_id=registration.organization.id,
                    kind="whatsapp",
                    phone_number=DEMO_CHANNEL_NUMBER,
                    twilio_account_sid=DEMO_ACCOUNT_SID,
                    twilio_auth_token=DEMO_AUTH_TOKEN,
                    display_name="WhatsApp da padaria",
                ),
                verifier=None,  # the simulator's own account, before the simulator runs
            )
            # A knowledge base to answer from: the worker indexes it when `atende dev`
            # starts, and the demo model quotes what a question finds in it.
            await knowledge.add_document(
                conn, registration.organization.id, "Cardápio e horários", from_text(DEMO_MENU)
            )
        return DemoWorkspace(organization_id=registration.organization.id, created=True)
