"""Members: inviting, accepting, changing roles and removing, under the role rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from atende.config import Settings
from atende.identity.provider import ProviderUnavailable
from atende.services import Services
from tests.factories import Factory
from tests.factories import TestOrganization as Organization
from tests.factories import TestUser as Person
from tests.identity.faults import CreateFault, FaultyProvider
from tests.identity.graphql import (
    ACCEPT,
    INVITE,
    MEMBERS,
    REMOVE,
    UPDATE_ROLE,
    VIEWER,
    execute,
    sign_in,
)
from tests.identity.state import identity_rows

ANA_PASSWORD = "senha-da-ana-1"


async def invite(
    client: httpx.AsyncClient,
    organization: Organization,
    by: Person,
    email: str,
    role: str = "AGENT",
) -> dict[str, Any]:
    data = await execute(
        client,
        INVITE,
        {"organizationId": str(organization.id), "email": email, "role": role},
        token=by.token,
    )
    result: dict[str, Any] = data["inviteMember"]
    return result


async def accept(
    client: httpx.AsyncClient,
    token: str,
    full_name: str = "Ana Souza",
    password: str = ANA_PASSWORD,
) -> dict[str, Any]:
    data = await execute(
        client, ACCEPT, {"token": token, "fullName": full_name, "password": password}
    )
    result: dict[str, Any] = data["acceptInvitation"]
    return result


async def update_role(
    client: httpx.AsyncClient,
    organization: Organization,
    by: Person,
    user: Person,
    role: str,
) -> dict[str, Any]:
    data = await execute(
        client,
        UPDATE_ROLE,
        {"organizationId": str(organization.id), "userId": str(user.id), "role": role},
        token=by.token,
    )
    result: dict[str, Any] = data["updateMemberRole"]
    return result


async def remove(
    client: httpx.AsyncClient, organization: Organization, by: Person, user: Person
) -> dict[str, Any]:
    data = await execute(
        client,
        REMOVE,
        {"organizationId": str(organization.id), "userId": str(user.id)},
        token=by.token,
    )
    result: dict[str, Any] = data["removeMember"]
    return result


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"identity_provider_timeout_seconds": 0.5})


@pytest.fixture
async def provider(app: Starlette, client: httpx.AsyncClient) -> AsyncIterator[FaultyProvider]:
    services: Services = app.state.services
    faulty = FaultyProvider(services.identity.provider)
    services.identity.provider = faulty
    yield faulty
    services.identity.provider = faulty.inner


# -- Inviting and accepting -------------------------------------------------------------


async def test_a_new_person_is_invited_accepts_and_signs_in(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    padaria = await factory.organization(name="Padaria")

    invited = await invite(client, padaria, padaria.owner, " Ana@Example.com ", "ADMIN")

    assert invited["__typename"] == "InviteMemberSuccess"
    assert invited["invitationToken"]
    membership = invited["membership"]
    assert membership["role"] == "ADMIN"
    assert membership["invitationPending"] is True
    assert membership["user"]["email"] == "ana@example.com"
    assert membership["organization"] == {"id": str(padaria.id)}

    accepted = await accept(client, invited["invitationToken"])

    assert accepted["__typename"] == "AcceptInvitationSuccess"
    assert accepted["user"] == {
        "id": membership["user"]["id"],
        "email": "ana@example.com",
        "fullName": "Ana Souza",
    }
    viewer = await execute(client, VIEWER, token=accepted["session"]["accessToken"])
    assert viewer["viewer"]["memberships"] == [
        {"role": "ADMIN", "organization": {"id": str(padaria.id), "name": "Padaria"}}
    ]
    assert (await sign_in(client, "ana@example.com", ANA_PASSWORD))["__typename"] == "SignInSuccess"
    members = await execute(client, MEMBERS, {"id": str(padaria.id)}, token=padaria.owner.token)
    assert {"role": "ADMIN", "invitationPending": False} | {
        "user": {"email": "ana@example.com", "fullName": "Ana Souza"}
    } in members["organization"]["members"]
    assert (await accept(client, invited["invitationToken"]))["__typename"] == "InvalidInvitation"


async def test_an_invited_person_cannot_sign_in_before_accepting(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    padaria = await factory.organization()
    await invite(client, padaria, padaria.owner, "ana@example.com")

    for password in ("", ANA_PASSWORD):
        result = await sign_in(client, "ana@example.com", password)
        assert result["__typename"] == "InvalidCredentials"


async def test_an_existing_user_is_added_at_once_without_a_token(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    padaria = await factory.organization(name="Padaria")
    oficina = await factory.organization(name="Oficina")

    invited = await invite(client, padaria, padaria.owner, oficina.owner.email)

    assert invited["__typename"] == "InviteMemberSuccess"
    assert invited["invitationToken"] is None
    assert invited["membership"]["invitationPending"] is False
    viewer = await execute(client, VIEWER, token=oficina.owner.token)
    assert {m["organization"]["name"] for m in viewer["viewer"]["memberships"]} == {
        "Padaria",
        "Oficina",
    }


async def test_an_invitation_token_cannot_be_had_for_someone_else_s_account(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """Another organization inviting a person who has not accepted yet gets no token: only
    the invitation that created the account can set its password."""
    padaria = await factory.organization()
    oficina = await factory.organization()
    first = await invite(client, padaria, padaria.owner, "ana@example.com")

    second = await invite(client, oficina, oficina.owner, "ana@example.com")

    assert first["invitationToken"]
    assert second["__typename"] == "InviteMemberSuccess"
    assert second["invitationToken"] is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"password": "curta"}, "password"), ({"full_name": "  "}, "fullName")],
)
async def test_accepting_with_bad_input_keeps_the_invitation_usable(
    client: httpx.AsyncClient, factory: Factory, fields: dict[str, str], field: str
) -> None:
    padaria = await factory.organization()
    token = (await invite(client, padaria, padaria.owner, "ana@example.com"))["invitationToken"]

    refused = await accept(client, token, **fields)

    assert refused["__typename"] == "ValidationError"
    assert refused["field"] == field
    assert (await accept(client, token))["__typename"] == "AcceptInvitationSuccess"


async def test_accepting_an_unknown_token_is_an_invalid_invitation(
    client: httpx.AsyncClient,
) -> None:
    result = await accept(client, "not-a-real-token")

    assert result["__typename"] == "InvalidInvitation"
    assert result["message"]


async def test_when_setting_the_password_fails_the_invitation_stays_usable(
    client: httpx.AsyncClient,
    factory: Factory,
    provider: FaultyProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    padaria = await factory.organization()
    token = (await invite(client, padaria, padaria.owner, "ana@example.com"))["invitationToken"]

    async def failing_set_password(user_id: object, password: str) -> None:
        raise ProviderUnavailable("down")

    monkeypatch.setattr(provider, "set_password", failing_set_password)
    assert (await accept(client, token))["__typename"] == "TemporarilyUnavailable"
    monkeypatch.undo()

    assert (await accept(client, token))["__typename"] == "AcceptInvitationSuccess"


@pytest.mark.parametrize("fault", [CreateFault.RAISE_AFTER, CreateFault.HANG_BEFORE])
async def test_when_the_provider_fails_an_invitation_leaves_nothing(
    client: httpx.AsyncClient,
    factory: Factory,
    provider: FaultyProvider,
    services: Services,
    fault: CreateFault,
) -> None:
    padaria = await factory.organization()
    before = await identity_rows(services)
    provider.create_fault = fault

    result = await invite(client, padaria, padaria.owner, "ana@example.com")

    assert result["__typename"] == "TemporarilyUnavailable"
    after = await identity_rows(services)
    assert (after.users, after.profiles, after.memberships, after.invitations) == (
        before.users,
        before.profiles,
        before.memberships,
        before.invitations,
    )
    provider.create_fault = None
    assert (await invite(client, padaria, padaria.owner, "ana@example.com"))["invitationToken"]


# -- The role rules, as typed results -----------------------------------------------------


async def test_who_may_invite_whom(client: httpx.AsyncClient, factory: Factory) -> None:
    padaria = await factory.organization()
    oficina = await factory.organization()
    admin = await factory.member(padaria, "admin")
    agent = await factory.member(padaria, "agent")

    by_agent = await invite(client, padaria, agent, "x@example.com")
    owner_by_admin = await invite(client, padaria, admin, "y@example.com", "OWNER")
    into_other = await invite(client, oficina, padaria.owner, "z@example.com")
    twice = await invite(client, padaria, admin, agent.email)
    malformed = await invite(client, padaria, admin, "not an e-mail")
    owner_by_owner = await invite(client, padaria, padaria.owner, "w@example.com", "OWNER")

    assert by_agent["__typename"] == "Forbidden"
    assert owner_by_admin["__typename"] == "Forbidden"
    assert into_other["__typename"] == "NotFound"
    assert twice["__typename"] == "AlreadyMember"
    assert (malformed["__typename"], malformed["field"]) == ("ValidationError", "email")
    assert owner_by_owner["membership"]["role"] == "OWNER"
    for refused in (by_agent, owner_by_admin, into_other, twice, malformed):
        assert refused["message"]


async def test_who_may_change_whose_role(client: httpx.AsyncClient, factory: Factory) -> None:
    padaria = await factory.organization()
    oficina = await factory.organization()
    owner = padaria.owner
    admin = await factory.member(padaria, "admin")
    agent = await factory.member(padaria, "agent")

    assert (await update_role(client, padaria, agent, admin, "AGENT"))["__typename"] == "Forbidden"
    assert (await update_role(client, padaria, admin, agent, "OWNER"))["__typename"] == "Forbidden"
    assert (await update_role(client, padaria, admin, owner, "ADMIN"))["__typename"] == "Forbidden"
    assert (await update_role(client, padaria, owner, owner, "ADMIN"))["__typename"] == "LastOwner"
    assert (await update_role(client, oficina, admin, oficina.owner, "AGENT"))[
        "__typename"
    ] == "NotFound"
    promoted = await update_role(client, padaria, admin, agent, "ADMIN")
    assert promoted == {
        "__typename": "UpdateMemberRoleSuccess",
        "membership": {"role": "ADMIN", "user": {"id": str(agent.id)}},
    }
    assert (await update_role(client, padaria, owner, admin, "OWNER"))["membership"]["role"] == (
        "OWNER"
    )
    assert (await update_role(client, padaria, owner, owner, "AGENT"))["membership"]["role"] == (
        "AGENT"
    )


async def test_who_may_remove_whom(client: httpx.AsyncClient, factory: Factory) -> None:
    padaria = await factory.organization()
    oficina = await factory.organization()
    owner = padaria.owner
    admin = await factory.member(padaria, "admin")
    agent = await factory.member(padaria, "agent")
    other_agent = await factory.member(padaria, "agent")

    assert (await remove(client, padaria, agent, other_agent))["__typename"] == "Forbidden"
    assert (await remove(client, padaria, admin, owner))["__typename"] == "Forbidden"
    assert (await remove(client, padaria, owner, owner))["__typename"] == "LastOwner"
    assert (await remove(client, oficina, owner, oficina.owner))["__typename"] == "NotFound"
    assert (await remove(client, padaria, admin, other_agent)) == {
        "__typename": "RemoveMemberSuccess",
        "organizationId": str(padaria.id),
        "userId": str(other_agent.id),
    }
    assert (await remove(client, padaria, agent, agent))["__typename"] == "RemoveMemberSuccess"
    assert (await remove(client, padaria, admin, other_agent))["__typename"] == "NotFound"
    members = await execute(client, MEMBERS, {"id": str(padaria.id)}, token=owner.token)
    assert [m["role"] for m in members["organization"]["members"]] == ["OWNER", "ADMIN"]


async def test_ids_that_are_not_ids_are_not_found(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    padaria = await factory.organization()
    data = await execute(
        client,
        REMOVE,
        {"organizationId": "padaria", "userId": str(padaria.owner.id)},
        token=padaria.owner.token,
    )
    assert data["removeMember"]["__typename"] == "NotFound"


async def test_member_changes_need_a_signed_in_user(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    padaria = await factory.organization()
    response = await client.post(
        "/graphql",
        json={
            "query": REMOVE,
            "variables": {"organizationId": str(padaria.id), "userId": str(padaria.owner.id)},
        },
    )
    body = response.json()
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]


async def test_a_refused_change_does_not_spoil_the_rest_of_the_operation(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    padaria = await factory.organization()
    admin = await factory.member(padaria, "admin")
    agent = await factory.member(padaria, "agent")
    document = """
    mutation ($org: ID!, $owner: ID!, $agent: ID!) {
      refused: removeMember(input: {organizationId: $org, userId: $owner}) { __typename }
      allowed: updateMemberRole(input: {organizationId: $org, userId: $agent, role: ADMIN}) {
        __typename
      }
    }
    """

    data = await execute(
        client,
        document,
        {"org": str(padaria.id), "owner": str(padaria.owner.id), "agent": str(agent.id)},
        token=admin.token,
    )

    assert data == {
        "refused": {"__typename": "Forbidden"},
        "allowed": {"__typename": "UpdateMemberRoleSuccess"},
    }
    members = await execute(client, MEMBERS, {"id": str(padaria.id)}, token=admin.token)
    assert sorted(m["role"] for m in members["organization"]["members"]) == [
        "ADMIN",
        "ADMIN",
        "OWNER",
    ]


async def test_members_of_another_organization_are_out_of_sight(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    padaria = await factory.organization()
    oficina = await factory.organization()

    data = await execute(client, MEMBERS, {"id": str(oficina.id)}, token=padaria.owner.token)

    assert data == {"organization": None}
