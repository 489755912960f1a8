"""Members: invitations mailed to the invitee and accepted by them, changing roles and
removing, under the role rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from atende.config import Settings
from atende.services import Services
from tests.factories import Factory
from tests.factories import TestOrganization as Organization
from tests.factories import TestUser as Person
from tests.identity.faults import CreateFault, FaultyProvider
from tests.identity.graphql import (
    ACCEPT,
    INVITATIONS,
    INVITE,
    MEMBERS,
    REMOVE,
    REVOKE_INVITATION,
    UPDATE_ROLE,
    VIEWER,
    execute,
    sign_in,
)
from tests.identity.mailbox import mailed_token, mails_to, token_in
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
    full_name: str | None = "Ana Souza",
    password: str | None = ANA_PASSWORD,
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
    return settings.model_copy(update={"identity_provider_timeout_seconds": 2.0})


@pytest.fixture
async def provider(app: Starlette, client: httpx.AsyncClient) -> AsyncIterator[FaultyProvider]:
    services: Services = app.state.services
    faulty = FaultyProvider(services.identity.provider)
    services.identity.provider = faulty
    yield faulty
    services.identity.provider = faulty.inner


# -- Inviting and accepting -------------------------------------------------------------


async def test_a_new_person_is_invited_by_mail_accepts_and_signs_in(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    padaria = await factory.organization(name="Padaria")

    invited = await invite(client, padaria, padaria.owner, " Ana@Example.com ", "ADMIN")

    assert invited["__typename"] == "InviteMemberSuccess"
    assert invited["invitation"] | {"id": None, "expiresAt": None} == {
        "id": None,
        "email": "ana@example.com",
        "role": "ADMIN",
        "status": "PENDING",
        "invitedBy": {"id": str(padaria.owner.id)},
        "expiresAt": None,
    }
    members = await execute(client, MEMBERS, {"id": str(padaria.id)}, token=padaria.owner.token)
    assert [m["user"]["email"] for m in members["organization"]["members"]] == [
        padaria.owner.email
    ], "nobody is a member before accepting"
    (mail,) = await mails_to(services, "ana@example.com", "invitation")
    assert "Padaria" in mail["subject"]
    assert "https://" in mail["text"] or "http://" in mail["text"]

    accepted = await accept(client, token_in(mail))

    assert accepted["__typename"] == "AcceptInvitationSuccess"
    assert accepted["user"] | {"id": None} == {
        "id": None,
        "email": "ana@example.com",
        "fullName": "Ana Souza",
        "emailVerified": True,
    }
    assert (accepted["organizationId"], accepted["role"]) == (str(padaria.id), "ADMIN")
    viewer = await execute(client, VIEWER, token=accepted["session"]["accessToken"])
    assert viewer["viewer"]["memberships"] == [
        {"role": "ADMIN", "organization": {"id": str(padaria.id), "name": "Padaria"}}
    ]
    assert (await sign_in(client, "ana@example.com", ANA_PASSWORD))["__typename"] == "SignInSuccess"
    listed = await execute(client, INVITATIONS, {"id": str(padaria.id)}, token=padaria.owner.token)
    assert [i["status"] for i in listed["organization"]["invitations"]] == ["ACCEPTED"]
    assert (await accept(client, token_in(mail)))["__typename"] == "InvalidInvitation"


async def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    padaria = await factory.organization()
    oficina = await factory.organization()

    existing = await invite(client, padaria, padaria.owner, oficina.owner.email)
    new = await invite(client, padaria, padaria.owner, "ninguem@example.com")

    def shape(result: dict[str, Any]) -> dict[str, Any]:
        return result | {"invitation": result["invitation"] | {"id": 0, "email": 0, "expiresAt": 0}}

    assert shape(existing) == shape(new)
    assert existing["invitation"]["status"] == "PENDING"
    viewer = await execute(client, VIEWER, token=oficina.owner.token)
    assert [m["organization"]["id"] for m in viewer["viewer"]["memberships"]] == [
        str(oficina.id)
    ], "an existing account is not added before it accepts"
    assert len(await mails_to(services, oficina.owner.email, "invitation")) == 1
    assert len(await mails_to(services, "ninguem@example.com", "invitation")) == 1


async def test_the_api_never_hands_an_invitation_token_to_the_inviter(
    client: httpx.AsyncClient,
) -> None:
    types = await execute(
        client,
        '{ __type(name: "InviteMemberSuccess") { fields { name } } }',
    )
    assert [f["name"] for f in types["__type"]["fields"]] == ["invitation"]
    fields = await execute(client, '{ __type(name: "Invitation") { fields { name } } }')
    assert not any("token" in f["name"].lower() for f in fields["__type"]["fields"])


async def test_an_existing_account_accepts_signed_in_as_the_invited_address(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    padaria = await factory.organization(name="Padaria")
    oficina = await factory.organization(name="Oficina")
    stranger = await factory.user()
    await invite(client, padaria, padaria.owner, oficina.owner.email, "AGENT")
    token = await mailed_token(services, oficina.owner.email, "invitation")

    anonymous = await accept(client, token)
    as_someone_else = await execute(client, ACCEPT, {"token": token}, token=stranger.token)
    accepted = await execute(client, ACCEPT, {"token": token}, token=oficina.owner.token)

    assert anonymous["__typename"] == "InvitationNeedsSignIn"
    assert as_someone_else["acceptInvitation"]["__typename"] == "InvalidInvitation"
    result = accepted["acceptInvitation"]
    assert result["__typename"] == "AcceptInvitationSuccess"
    assert result["session"] is None
    assert result["user"]["emailVerified"] is True
    viewer = await execute(client, VIEWER, token=oficina.owner.token)
    assert {m["organization"]["name"] for m in viewer["viewer"]["memberships"]} == {
        "Padaria",
        "Oficina",
    }


async def test_inviting_again_sends_a_new_link_and_the_old_one_stops_working(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    padaria = await factory.organization()
    first = await invite(client, padaria, padaria.owner, "ana@example.com", "AGENT")
    old = await mailed_token(services, "ana@example.com", "invitation")

    again = await invite(client, padaria, padaria.owner, "ana@example.com", "ADMIN")
    new = await mailed_token(services, "ana@example.com", "invitation")

    assert again["invitation"]["id"] == first["invitation"]["id"]
    assert again["invitation"]["role"] == "ADMIN"
    assert new != old
    assert (await accept(client, old))["__typename"] == "InvalidInvitation"
    accepted = await accept(client, new)
    assert (accepted["__typename"], accepted["role"]) == ("AcceptInvitationSuccess", "ADMIN")


async def test_a_revoked_or_expired_invitation_cannot_be_accepted(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    padaria = await factory.organization()
    revoked = await invite(client, padaria, padaria.owner, "ana@example.com")
    await invite(client, padaria, padaria.owner, "bia@example.com")
    ana = await mailed_token(services, "ana@example.com", "invitation")
    bia = await mailed_token(services, "bia@example.com", "invitation")

    result = await execute(
        client,
        REVOKE_INVITATION,
        {"invitationId": revoked["invitation"]["id"]},
        token=padaria.owner.token,
    )
    async with services.database.pool.connection() as conn:
        await conn.execute(
            "update public.invitations set expires_at = now() - interval '1 second'"
            " where email = 'bia@example.com'"
        )

    assert result["revokeInvitation"]["invitation"]["status"] == "REVOKED"
    assert (await accept(client, ana))["__typename"] == "InvalidInvitation"
    assert (await accept(client, bia))["__typename"] == "InvalidInvitation"
    listed = await execute(client, INVITATIONS, {"id": str(padaria.id)}, token=padaria.owner.token)
    assert sorted(i["status"] for i in listed["organization"]["invitations"]) == [
        "EXPIRED",
        "REVOKED",
    ]
    again = await execute(
        client,
        REVOKE_INVITATION,
        {"invitationId": revoked["invitation"]["id"]},
        token=padaria.owner.token,
    )
    assert again["revokeInvitation"]["__typename"] == "NotFound"


async def test_who_may_see_and_revoke_invitations(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    padaria = await factory.organization()
    oficina = await factory.organization()
    admin = await factory.member(padaria, "admin")
    agent = await factory.member(padaria, "agent")
    for_owner = await invite(client, padaria, padaria.owner, "dono@example.com", "OWNER")
    for_agent = await invite(client, padaria, admin, "agente@example.com")

    def revoke(invitation: dict[str, Any], by: Person) -> Any:
        return execute(
            client,
            REVOKE_INVITATION,
            {"invitationId": invitation["invitation"]["id"]},
            token=by.token,
        )

    assert (await revoke(for_agent, agent))["revokeInvitation"]["__typename"] == "NotFound"
    assert (await revoke(for_agent, oficina.owner))["revokeInvitation"]["__typename"] == "NotFound"
    assert (await revoke(for_owner, admin))["revokeInvitation"]["__typename"] == "Forbidden"
    assert (await revoke(for_agent, admin))["revokeInvitation"]["__typename"] == (
        "RevokeInvitationSuccess"
    )
    seen_by_agent = await execute(client, INVITATIONS, {"id": str(padaria.id)}, token=agent.token)
    seen_by_admin = await execute(client, INVITATIONS, {"id": str(padaria.id)}, token=admin.token)
    seen_by_outsider = await execute(
        client, INVITATIONS, {"id": str(padaria.id)}, token=oficina.owner.token
    )
    assert seen_by_agent["organization"]["invitations"] == []
    assert len(seen_by_admin["organization"]["invitations"]) == 2
    assert seen_by_outsider == {"organization": None}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"password": "curta"}, "password"),
        ({"full_name": "  "}, "fullName"),
        ({"password": None}, "password"),
    ],
)
async def test_accepting_with_bad_input_keeps_the_invitation_usable(
    client: httpx.AsyncClient,
    factory: Factory,
    services: Services,
    fields: dict[str, Any],
    field: str,
) -> None:
    padaria = await factory.organization()
    await invite(client, padaria, padaria.owner, "ana@example.com")
    token = await mailed_token(services, "ana@example.com", "invitation")

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


@pytest.mark.parametrize("fault", [CreateFault.RAISE_AFTER, CreateFault.HANG_BEFORE])
async def test_when_the_provider_fails_accepting_leaves_nothing_and_the_link_still_works(
    client: httpx.AsyncClient,
    factory: Factory,
    provider: FaultyProvider,
    services: Services,
    fault: CreateFault,
) -> None:
    padaria = await factory.organization()
    await invite(client, padaria, padaria.owner, "ana@example.com")
    token = await mailed_token(services, "ana@example.com", "invitation")
    before = await identity_rows(services)
    provider.create_fault = fault

    result = await accept(client, token)

    assert result["__typename"] == "TemporarilyUnavailable"
    after = await identity_rows(services)
    assert (after.users, after.profiles, after.memberships, after.invitations) == (
        before.users,
        before.profiles,
        before.memberships,
        before.invitations,
    )
    provider.create_fault = None
    assert (await accept(client, token))["__typename"] == "AcceptInvitationSuccess"


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
    assert owner_by_owner["invitation"]["role"] == "OWNER"
    # Inviting an owner's invitee again would replace the owner's link: owners only.
    over_owner = await invite(client, padaria, admin, "w@example.com", "AGENT")
    assert over_owner["__typename"] == "Forbidden"
    for refused in (by_agent, owner_by_admin, into_other, twice, malformed, over_owner):
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
