"""Generated operations (hypothesis-graphql, from the schema itself) never break the
server: whatever a client sends, the answer is data or readable errors, never a 500 and
never "Internal error"."""

from __future__ import annotations

import uuid

import psycopg
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries
from starlette.testclient import TestClient

from atende.app import create_app
from atende.config import Settings
from atende.graphql.schema import export_sdl
from atende.services import token_service

DATETIMES = st.sampled_from(
    ["2026-11-01T00:00:00Z", "2026-11-30T00:00:00+00:00", "not a date", "2026-13-45"]
).map(nodes.String)


def member_token(settings: Settings, database_url: str) -> str:
    """A member of an organization with a conversation, made directly in the database."""
    user_id = uuid.uuid4()
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "insert into auth.users (id, email, created_at) values (%s, %s, now())",
            [user_id, f"{user_id.hex[:8]}@example.com"],
        )
        conn.execute(
            "insert into public.profiles (id, email, full_name) values (%s, %s, 'Fuzz')",
            [user_id, f"{user_id.hex[:8]}@example.com"],
        )
        organization = conn.execute(
            "insert into public.organizations (name) values ('Fuzz') returning id"
        ).fetchone()
        assert organization is not None
        conn.execute(
            "insert into public.memberships (organization_id, user_id, role)"
            " values (%s, %s, 'owner')",
            [organization[0], user_id],
        )
        channel = conn.execute(
            "insert into public.channels (organization_id, kind, phone_number,"
            " twilio_account_sid, twilio_auth_token_ciphertext)"
            " values (%s, 'whatsapp', '+5511900000099', %s, 'c') returning id",
            [organization[0], "AC" + uuid.uuid4().hex],
        ).fetchone()
        assert channel is not None
        conn.execute(
            "select public.ingest_inbound_message_v1(%s, 'SMfuzz', '+5521900000099', 'Oi')",
            [channel[0]],
        )
    tokens = token_service(settings)
    return tokens.issue(
        user_id=user_id, email=f"{user_id.hex[:8]}@example.com", session_id=uuid.uuid4()
    ).token


def test_generated_operations_never_break_the_server(settings: Settings, database_url: str) -> None:
    sdl = export_sdl()
    headers = {"Authorization": f"Bearer {member_token(settings, database_url)}"}
    operations = st.one_of(
        queries(sdl, custom_scalars={"DateTime": DATETIMES}),
        mutations(sdl, custom_scalars={"DateTime": DATETIMES}),
    )

    # Generated first, served after: the app's connection pool uses `random` (jitter),
    # which Hypothesis would take for randomness leaking into its strategies.
    generated: list[str] = []

    @hypothesis_settings(
        max_examples=80,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
        # The same examples on every run: CI stays deterministic.
        derandomize=True,
    )
    @given(operation=operations)
    def collect(operation: str) -> None:
        generated.append(operation)

    collect()
    with TestClient(create_app(settings)) as http:
        for operation in generated:
            response = http.post("/graphql", json={"query": operation}, headers=headers)
            assert response.status_code == 200, (operation, response.text)
            assert "Internal error" not in response.text, (operation, response.text)
