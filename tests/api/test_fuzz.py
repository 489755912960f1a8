"""Generated operations (hypothesis-graphql, from the schema itself) never break the
server and never show one organization's data to another's member: whatever a client
sends, the answer is data or readable errors, never a 500 nor "Internal error", and holds
no id or text of the other organization, whose rows stay as they were."""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries
from starlette.testclient import TestClient

from atende.api.schema import export_sdl
from atende.app import create_app
from atende.config import Settings
from atende.services import token_service

DATETIMES = st.sampled_from(
    ["2026-11-01T00:00:00Z", "2026-11-30T00:00:00+00:00", "not a date", "2026-13-45"]
).map(nodes.String)


@dataclass
class Workspace:
    """An organization made directly in the database: its owner, a WhatsApp channel, and
    a conversation of two inbound messages."""

    organization_id: uuid.UUID
    owner_id: uuid.UUID
    owner_email: str
    #: Text only this organization's rows hold (message bodies, names, numbers).
    strings: set[str] = field(default_factory=set)


def make_workspace(
    conn: psycopg.Connection[Any], label: str, business_number: str, customer_number: str
) -> Workspace:
    owner_id = uuid.uuid4()
    email = f"{label.lower()}-{owner_id.hex[:8]}@example.com"
    full_name = f"Dona {label} {owner_id.hex[:6]}"
    conn.execute(
        "insert into auth.users (id, email, created_at) values (%s, %s, now())", [owner_id, email]
    )
    conn.execute(
        "insert into public.profiles (id, email, full_name) values (%s, %s, %s)",
        [owner_id, email, full_name],
    )
    organization_name = f"Loja {label} {owner_id.hex[8:14]}"
    organization = conn.execute(
        "insert into public.organizations (name) values (%s) returning id", [organization_name]
    ).fetchone()
    assert organization is not None
    conn.execute(
        "insert into public.memberships (organization_id, user_id, role) values (%s, %s, 'owner')",
        [organization[0], owner_id],
    )
    account_sid = "AC" + uuid.uuid4().hex
    channel = conn.execute(
        "insert into public.channels (organization_id, kind, phone_number,"
        " twilio_account_sid, twilio_auth_token_ciphertext)"
        " values (%s, 'whatsapp', %s, %s, 'c') returning id",
        [organization[0], business_number, account_sid],
    ).fetchone()
    assert channel is not None
    profile_name = f"Cliente {label} {uuid.uuid4().hex[:8]}"
    bodies = [f"Pedido {label} {uuid.uuid4().hex[:10]}" for _ in range(2)]
    for body in bodies:
        conn.execute(
            "select private.ingest_inbound_message_v1(%s, %s, %s, %s, profile_name => %s)",
            [channel[0], "SM" + uuid.uuid4().hex, customer_number, body, profile_name],
        )
    return Workspace(
        organization_id=organization[0],
        owner_id=owner_id,
        owner_email=email,
        strings={
            email,
            full_name,
            organization_name,
            account_sid,
            business_number,
            customer_number,
            profile_name,
            *bodies,
        },
    )


def organization_rows(
    conn: psycopg.Connection[Any], organization_id: uuid.UUID
) -> list[tuple[str, str]]:
    """Every row of every public table with an ``organization_id`` that belongs to the
    organization (and the organization itself), as JSON text."""
    tables = [
        row[0]
        for row in conn.execute(
            "select table_name from information_schema.columns where table_schema = 'public'"
            " and column_name = 'organization_id' and table_name in (select table_name"
            " from information_schema.tables where table_schema = 'public'"
            " and table_type = 'BASE TABLE') order by table_name"
        )
    ]
    rows = [
        ("organizations", str(row[0]))
        for row in conn.execute(
            "select to_jsonb(o)::text from public.organizations o where id = %s",
            [organization_id],
        )
    ]
    for table in tables:
        rows += [
            (table, str(row[0]))
            for row in conn.execute(
                f"select to_jsonb(t)::text from public.{table} t"
                " where organization_id = %s order by to_jsonb(t)::text",
                [organization_id],
            )
        ]
    return rows


def ids_in(rows: list[tuple[str, str]]) -> set[str]:
    """The uuids that rows (as ``organization_rows`` gives them) hold."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            with contextlib.suppress(ValueError):
                found.add(str(uuid.UUID(value)))

    for _, row in rows:
        walk(json.loads(row))
    return found


def leaks(operation: str, answer: dict[str, Any], ids: set[str], strings: set[str]) -> set[str]:
    """The other organization's ids and strings that an answer shows. An id the operation
    itself names may come back in an error about it (``Não encontrado``), never in data."""
    data = json.dumps(answer.get("data"), ensure_ascii=False)
    errors = json.dumps(answer.get("errors"), ensure_ascii=False)
    found = {text for text in strings if text in data or text in errors}
    found |= {i for i in ids if i in data or (i in errors and i not in operation)}
    return found


def test_the_leak_detector_sees_what_it_must() -> None:
    other = str(uuid.uuid4())
    secret = "Pedido Outra 1a2b3c"
    assert leaks("{ viewer { id } }", {"data": {"viewer": {"id": other}}}, {other}, set()) == {
        other
    }
    named = f'{{ conversation(id: "{other}") {{ id }} }}'
    assert leaks(named, {"data": {"conversation": {"id": other}}}, {other}, set()) == {other}
    assert leaks(named, {"data": None, "errors": [{"message": f"no {other}"}]}, {other}, set()) == (
        set()
    )
    assert leaks(
        "{ viewer { id } }", {"data": None, "errors": [{"message": f"no {other}"}]}, {other}, set()
    ) == {other}
    assert leaks("{ x }", {"data": {"x": [{"body": secret}]}}, set(), {secret}) == {secret}
    assert leaks("{ x }", {"data": {"x": "Pedido Nossa"}}, {other}, {secret}) == set()
    row = json.dumps({"id": other, "n": [{"a": other.upper()}], "t": "x"})
    assert ids_in([("t", row)]) == {other}


def test_generated_operations_never_break_the_server_nor_cross_organizations(
    settings: Settings, database_url: str
) -> None:
    with psycopg.connect(database_url) as conn:
        ours = make_workspace(conn, "Nossa", "+5511900000099", "+5521900000099")
        theirs = make_workspace(conn, "Outra", "+5511900000077", "+5521987650077")
    with psycopg.connect(database_url) as conn:
        our_ids = ids_in(organization_rows(conn, ours.organization_id))
        their_rows = organization_rows(conn, theirs.organization_id)
    their_ids = ids_in(their_rows)
    assert str(theirs.organization_id) in their_ids
    assert len(their_ids) >= 6, their_ids
    assert not their_ids & our_ids

    tokens = token_service(settings)

    def bearer(workspace: Workspace) -> dict[str, str]:
        token = tokens.issue(
            user_id=workspace.owner_id, email=workspace.owner_email, session_id=uuid.uuid4()
        ).token
        return {"Authorization": f"Bearer {token}"}

    sdl = export_sdl()
    # IDs are the two organizations' real ones (so operations reach rows, theirs included)
    # or nonsense.
    id_values = st.sampled_from(sorted(our_ids) + sorted(their_ids) + ["0", "x"]).map(nodes.String)
    scalars = {"DateTime": DATETIMES, "ID": id_values}
    operations = st.one_of(
        queries(sdl, custom_scalars=scalars), mutations(sdl, custom_scalars=scalars)
    )

    # Generated first, served after: the app's connection pool uses `random` (jitter),
    # which Hypothesis would take for randomness leaking into its strategies.
    generated: list[str] = []

    @hypothesis_settings(
        max_examples=150,
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
    headers = bearer(ours)
    reached_theirs = 0
    with TestClient(create_app(settings)) as http:
        # The detector sees their rows when they are shown (to their own member).
        theirs_own_view = http.post(
            "/graphql",
            json={
                "query": "query ($org: ID!) { organization(id: $org) { id conversations(first: 5)"
                " { edges { node { id contact { id name phoneNumber }"
                " lastMessage { id body } } } } } }",
                "variables": {"org": str(theirs.organization_id)},
            },
            headers=bearer(theirs),
        ).json()
        assert len(leaks("", theirs_own_view, their_ids, theirs.strings)) >= 5, theirs_own_view

        for operation in generated:
            response = http.post("/graphql", json={"query": operation}, headers=headers)
            assert response.status_code == 200, (operation, response.text)
            assert "Internal error" not in response.text, (operation, response.text)
            shown = leaks(operation, response.json(), their_ids, theirs.strings)
            assert not shown, (operation, response.text, shown)
            reached_theirs += any(i in operation for i in their_ids)
    # A fair share of the operations named their rows.
    assert reached_theirs >= 10, reached_theirs
    with psycopg.connect(database_url) as conn:
        assert organization_rows(conn, theirs.organization_id) == their_rows
