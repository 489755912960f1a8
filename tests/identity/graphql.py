"""Calling the API as a client would, and the identity operations the tests share."""

from __future__ import annotations

from typing import Any

import httpx

REGISTER = """
mutation ($input: RegisterOrganizationInput!) {
  registerOrganization(input: $input) {
    __typename
    ... on RegisterOrganizationSuccess {
      organization { id name }
      user { id email fullName }
      session { accessToken refreshToken expiresAt }
    }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""

SIGN_IN = """
mutation ($input: SignInInput!) {
  signIn(input: $input) {
    __typename
    ... on SignInSuccess { session { accessToken refreshToken expiresAt } }
    ... on UserError { message }
  }
}
"""

REFRESH = """
mutation ($refreshToken: String!) {
  refreshSession(input: {refreshToken: $refreshToken}) {
    __typename
    ... on RefreshSessionSuccess { session { accessToken refreshToken expiresAt } }
    ... on UserError { message }
  }
}
"""

SIGN_OUT = """
mutation ($refreshToken: String) { signOut(input: {refreshToken: $refreshToken}) { revoked } }
"""

VIEWER = "{ viewer { user { id email fullName } memberships { role organization { id name } } } }"

INVITE = """
mutation ($organizationId: ID!, $email: String!, $role: MembershipRole!) {
  inviteMember(input: {organizationId: $organizationId, email: $email, role: $role}) {
    __typename
    ... on InviteMemberSuccess {
      invitation { id email role status invitedBy { id } expiresAt }
    }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""

ACCEPT = """
mutation ($token: String!, $fullName: String, $password: String) {
  acceptInvitation(input: {token: $token, fullName: $fullName, password: $password}) {
    __typename
    ... on AcceptInvitationSuccess {
      user { id email fullName emailVerified }
      organizationId
      role
      session { accessToken refreshToken expiresAt }
    }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""

REVOKE_INVITATION = """
mutation ($invitationId: ID!) {
  revokeInvitation(input: {invitationId: $invitationId}) {
    __typename
    ... on RevokeInvitationSuccess { invitation { id status revokedAt } }
    ... on UserError { message }
  }
}
"""

INVITATIONS = """
query ($id: ID!) {
  organization(id: $id) {
    invitations { id email role status invitedBy { id } acceptedAt revokedAt }
  }
}
"""

UPDATE_ROLE = """
mutation ($organizationId: ID!, $userId: ID!, $role: MembershipRole!) {
  updateMemberRole(input: {organizationId: $organizationId, userId: $userId, role: $role}) {
    __typename
    ... on UpdateMemberRoleSuccess { membership { role user { id } } }
    ... on UserError { message }
  }
}
"""

REMOVE = """
mutation ($organizationId: ID!, $userId: ID!) {
  removeMember(input: {organizationId: $organizationId, userId: $userId}) {
    __typename
    ... on RemoveMemberSuccess { organizationId userId }
    ... on UserError { message }
  }
}
"""

MEMBERS = """
query ($id: ID!) {
  organization(id: $id) {
    members { role user { email fullName } }
  }
}
"""


async def execute(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    """The operation's ``data``; fails the test on any GraphQL error."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    body = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


#: The password the tests' owners register with.
OWNER_PASSWORD = "pão-de-queijo-42"


def registration(
    email: str = "dona.maria@example.com",
    password: str = OWNER_PASSWORD,
    organization_name: str = "Padaria Pão Quente",
    full_name: str = "Maria da Silva",
) -> dict[str, Any]:
    return {
        "input": {
            "organizationName": organization_name,
            "fullName": full_name,
            "email": email,
            "password": password,
        }
    }


async def register(client: httpx.AsyncClient, **fields: str) -> dict[str, Any]:
    """Register an organization; returns the success payload."""
    result: dict[str, Any] = (await execute(client, REGISTER, registration(**fields)))[
        "registerOrganization"
    ]
    assert result["__typename"] == "RegisterOrganizationSuccess", result
    return result


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    data = await execute(client, SIGN_IN, {"input": {"email": email, "password": password}})
    result: dict[str, Any] = data["signIn"]
    return result
