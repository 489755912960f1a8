"""A person's own account: verified e-mail, password reset and change, and the attack the
three together close (an address registered by someone who does not read it)."""

from __future__ import annotations

from typing import Any

import httpx

from atende.db.session import SERVICE
from atende.services import Services
from tests.factories import Factory
from tests.identity.graphql import (
    ACCEPT,
    INVITE,
    OWNER_PASSWORD,
    VIEWER,
    execute,
    register,
    sign_in,
)
from tests.identity.mailbox import mailed_token, mails_to
from tests.identity.test_session_end import viewer_codes

VERIFY = """
mutation ($token: String!) {
  verifyEmail(input: {token: $token}) {
    __typename
    ... on VerifyEmailSuccess { email }
    ... on UserError { message }
  }
}
"""

RESEND = """
mutation {
  resendVerificationEmail {
    __typename
    ... on ResendVerificationEmailSuccess { sent }
    ... on UserError { message }
  }
}
"""

REQUEST_RESET = """
mutation ($email: String!) {
  requestPasswordReset(input: {email: $email}) {
    __typename
    ... on RequestPasswordResetSuccess { message }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""

RESET = """
mutation ($token: String!, $password: String!) {
  resetPassword(input: {token: $token, password: $password}) {
    __typename
    ... on ResetPasswordSuccess { session { accessToken refreshToken } }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""

CHANGE = """
mutation ($current: String!, $new: String!) {
  changePassword(input: {currentPassword: $current, newPassword: $new}) {
    __typename
    ... on ChangePasswordSuccess { sessionsEnded }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""

VERIFIED = "{ viewer { user { emailVerified } } }"
NEW_PASSWORD = "outra-senha-forte-9"


async def verified(client: httpx.AsyncClient, token: str) -> bool:
    result: bool = (await execute(client, VERIFIED, token=token))["viewer"]["user"]["emailVerified"]
    return result


async def mutate(
    client: httpx.AsyncClient,
    document: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    data = await execute(client, document, variables, token=token)
    (result,) = data.values()
    assert isinstance(result, dict)
    return result


# -- Verified e-mail ----------------------------------------------------------------------


async def test_registration_mails_a_verification_link_that_verifies_once(
    client: httpx.AsyncClient, services: Services
) -> None:
    registered = await register(client)
    access = registered["session"]["accessToken"]
    assert await verified(client, access) is False
    (mail,) = await mails_to(services, "dona.maria@example.com", "verify_email")
    assert "Maria da Silva" in mail["text"]
    token = await mailed_token(services, "dona.maria@example.com", "verify_email")

    first = await mutate(client, VERIFY, {"token": token})
    second = await mutate(client, VERIFY, {"token": token})
    unknown = await mutate(client, VERIFY, {"token": "nao-existe"})

    assert first == {"__typename": "VerifyEmailSuccess", "email": "dona.maria@example.com"}
    assert second["__typename"] == unknown["__typename"] == "InvalidToken"
    assert second["message"] == unknown["message"]
    assert await verified(client, access) is True
    assert await mutate(client, RESEND, token=access) == {
        "__typename": "ResendVerificationEmailSuccess",
        "sent": False,
    }


async def test_a_new_verification_link_replaces_the_earlier_one(
    client: httpx.AsyncClient, services: Services
) -> None:
    access = (await register(client))["session"]["accessToken"]
    old = await mailed_token(services, "dona.maria@example.com", "verify_email")

    resent = await mutate(client, RESEND, token=access)
    new = await mailed_token(services, "dona.maria@example.com", "verify_email")

    assert resent == {"__typename": "ResendVerificationEmailSuccess", "sent": True}
    assert (await mutate(client, VERIFY, {"token": old}))["__typename"] == "InvalidToken"
    assert (await mutate(client, VERIFY, {"token": new}))["__typename"] == "VerifyEmailSuccess"


async def test_an_expired_verification_link_is_refused(
    client: httpx.AsyncClient, services: Services
) -> None:
    await register(client)
    token = await mailed_token(services, "dona.maria@example.com", "verify_email")
    async with services.database.pool.connection() as conn:
        await conn.execute("update private.account_tokens set expires_at = now()")

    assert (await mutate(client, VERIFY, {"token": token}))["__typename"] == "InvalidToken"


async def test_a_registration_stands_when_its_mail_cannot_be_sent(
    client: httpx.AsyncClient, services: Services
) -> None:
    """Nothing is sent during the request: the mail waits in the outbox for the worker
    (none runs here, as if SMTP were down), and the owner is signed in regardless."""
    registered = await register(client)

    assert await viewer_codes(client, registered["session"]["accessToken"]) == []
    row = await services.database.fetch_one(
        SERVICE,
        "select status from private.mail_outbox where kind = 'verify_email'",
    )
    assert row is not None
    assert row["status"] == "queued"


# -- Password reset -----------------------------------------------------------------------


async def test_a_reset_is_answered_alike_for_every_address_and_mailed_only_to_an_account(
    client: httpx.AsyncClient, services: Services
) -> None:
    await register(client)

    known = await mutate(client, REQUEST_RESET, {"email": " Dona.Maria@Example.com "})
    unknown = await mutate(client, REQUEST_RESET, {"email": "ninguem@example.com"})
    malformed = await mutate(client, REQUEST_RESET, {"email": "not an e-mail"})

    assert known == unknown
    assert known["__typename"] == "RequestPasswordResetSuccess"
    assert (malformed["__typename"], malformed["field"]) == ("ValidationError", "email")
    assert len(await mails_to(services, "dona.maria@example.com", "reset_password")) == 1
    assert await mails_to(services, "ninguem@example.com") == []


async def test_resetting_the_password_ends_every_session_and_signs_in_anew(
    client: httpx.AsyncClient, services: Services
) -> None:
    registered = await register(client)
    before = registered["session"]["accessToken"]
    await mutate(client, REQUEST_RESET, {"email": "dona.maria@example.com"})
    token = await mailed_token(services, "dona.maria@example.com", "reset_password")

    weak = await mutate(client, RESET, {"token": token, "password": "curta"})
    reset = await mutate(client, RESET, {"token": token, "password": NEW_PASSWORD})
    replay = await mutate(client, RESET, {"token": token, "password": NEW_PASSWORD})

    assert (weak["__typename"], weak["field"]) == ("ValidationError", "password")
    assert reset["__typename"] == "ResetPasswordSuccess"
    assert replay["__typename"] == "InvalidToken"
    assert await viewer_codes(client, before) == ["UNAUTHENTICATED"]
    assert await viewer_codes(client, reset["session"]["accessToken"]) == []
    assert await verified(client, reset["session"]["accessToken"]) is True
    old = await sign_in(client, "dona.maria@example.com", OWNER_PASSWORD)
    new = await sign_in(client, "dona.maria@example.com", NEW_PASSWORD)
    assert (old["__typename"], new["__typename"]) == ("InvalidCredentials", "SignInSuccess")


# -- Password change ----------------------------------------------------------------------


async def test_changing_the_password_needs_the_current_one_and_ends_the_other_sessions(
    client: httpx.AsyncClient,
) -> None:
    registered = await register(client)
    this = registered["session"]["accessToken"]
    other = (await sign_in(client, "dona.maria@example.com", OWNER_PASSWORD))["session"]

    wrong = await mutate(client, CHANGE, {"current": "nao-e-esta", "new": NEW_PASSWORD}, token=this)
    weak = await mutate(client, CHANGE, {"current": OWNER_PASSWORD, "new": "curta"}, token=this)
    changed = await mutate(
        client, CHANGE, {"current": OWNER_PASSWORD, "new": NEW_PASSWORD}, token=this
    )

    assert wrong["__typename"] == "InvalidCredentials"
    assert (weak["__typename"], weak["field"]) == ("ValidationError", "newPassword")
    assert changed == {"__typename": "ChangePasswordSuccess", "sessionsEnded": 1}
    assert await viewer_codes(client, this) == []
    assert await viewer_codes(client, other["accessToken"]) == ["UNAUTHENTICATED"]
    refreshed = await client.post(
        "/graphql",
        json={
            "query": "mutation ($t: String!) { refreshSession(input: {refreshToken: $t}) "
            "{ __typename } }",
            "variables": {"t": other["refreshToken"]},
        },
    )
    assert refreshed.json()["data"]["refreshSession"]["__typename"] == "InvalidRefreshToken"
    new = await sign_in(client, "dona.maria@example.com", NEW_PASSWORD)
    assert new["__typename"] == "SignInSuccess"


async def test_changing_the_password_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={"query": CHANGE, "variables": {"current": OWNER_PASSWORD, "new": NEW_PASSWORD}},
    )
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["UNAUTHENTICATED"]


# -- The attack: an address registered by someone who does not read it --------------------


async def test_a_pre_registered_address_gains_nothing_from_an_invitation(
    client: httpx.AsyncClient, factory: Factory, services: Services
) -> None:
    """An attacker registers the victim's future manager's address before the victim
    invites it. The invitation's link goes to the mailbox, not to the attacker: the
    attacker's account cannot join, and the mailbox's owner takes the account over with a
    password reset, which ends the attacker's sessions."""
    victim = await factory.organization(name="Vítima")
    attacker = (
        await register(client, email="novo.gerente@vitima.example", organization_name="Isca")
    )["session"]
    await execute(
        client,
        INVITE,
        {
            "organizationId": str(victim.id),
            "email": "novo.gerente@vitima.example",
            "role": "ADMIN",
        },
        token=victim.owner.token,
    )

    # The attacker holds a session of that address, but not the mailed token.
    guessed = await execute(client, ACCEPT, {"token": "x" * 43}, token=attacker["accessToken"])
    assert guessed["acceptInvitation"]["__typename"] == "InvalidInvitation"
    memberships = await execute(client, VIEWER, token=attacker["accessToken"])
    assert [m["organization"]["name"] for m in memberships["viewer"]["memberships"]] == ["Isca"]

    # The mailbox's owner: an account exists, so they reset its password, then accept.
    invitation = await mailed_token(services, "novo.gerente@vitima.example", "invitation")
    needs = await execute(client, ACCEPT, {"token": invitation})
    assert needs["acceptInvitation"]["__typename"] == "InvitationNeedsSignIn"
    await mutate(client, REQUEST_RESET, {"email": "novo.gerente@vitima.example"})
    reset_token = await mailed_token(services, "novo.gerente@vitima.example", "reset_password")
    owner = (await mutate(client, RESET, {"token": reset_token, "password": NEW_PASSWORD}))[
        "session"
    ]
    assert await viewer_codes(client, attacker["accessToken"]) == ["UNAUTHENTICATED"]
    joined = await execute(client, ACCEPT, {"token": invitation}, token=owner["accessToken"])
    assert joined["acceptInvitation"]["__typename"] == "AcceptInvitationSuccess"
