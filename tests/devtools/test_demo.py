"""The demo workspace `make dev` starts with: made once, through the product's own flows."""

from __future__ import annotations

import httpx

from atende.config import Environment, Settings
from atende.devtools.demo_workspace import (
    DEMO_CHANNEL_NUMBER,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    ensure_demo_workspace,
    wants_demo_workspace,
)

SIGN_IN = """
mutation ($email: String!, $password: String!) {
  signIn(input: {email: $email, password: $password}) {
    ... on SignInSuccess { session { accessToken } }
  }
}
"""
CHANNELS = (
    "{ viewer { memberships { role organization { channels { phoneNumber kind }"
    " knowledgeDocuments { edges { node { title status } } } } } } }"
)


async def test_the_demo_workspace_is_made_once_and_its_owner_can_sign_in(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    first = await ensure_demo_workspace(settings)
    second = await ensure_demo_workspace(settings)

    assert first.created
    assert not second.created
    assert second.organization_id == first.organization_id
    signed_in = await client.post(
        "/graphql",
        json={"query": SIGN_IN, "variables": {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}},
    )
    token = signed_in.json()["data"]["signIn"]["session"]["accessToken"]
    viewer = await client.post(
        "/graphql", json={"query": CHANNELS}, headers={"Authorization": f"Bearer {token}"}
    )
    assert viewer.json()["data"]["viewer"]["memberships"] == [
        {
            "role": "OWNER",
            "organization": {
                "channels": [{"phoneNumber": DEMO_CHANNEL_NUMBER, "kind": "WHATSAPP"}],
                # Its knowledge base, indexed by the worker `atende dev` runs.
                "knowledgeDocuments": {
                    "edges": [{"node": {"title": "Cardápio e horários", "status": "PENDING"}}]
                },
            },
        }
    ]


def test_only_a_development_setup_with_the_simulator_gets_a_demo(settings: Settings) -> None:
    development = settings.model_copy(update={"env": Environment.DEVELOPMENT})

    assert wants_demo_workspace(development)
    assert not wants_demo_workspace(settings)
    assert not wants_demo_workspace(
        development.model_copy(update={"twilio_api_base_url": "https://api.example.com"})
    )
