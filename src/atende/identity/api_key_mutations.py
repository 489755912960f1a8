"""API key mutations: an owner or admin creates a key (its secret is in the answer, once)
and revokes it. Both run in the operation's transaction as the caller, where
``public.create_api_key_v1`` and ``public.revoke_api_key_v1`` apply the role rules (only
owners make or revoke owner keys; no key makes or revokes keys)."""

from __future__ import annotations

from typing import Annotated, TypeAlias
from uuid import UUID

import strawberry

from atende.errors import Refusal
from atende.graphql.context import Info
from atende.graphql.ids import id_or_none
from atende.graphql.permissions import IsAuthenticated
from atende.graphql.results import ForbiddenResult, NotFound, ValidationError, refusal_result
from atende.identity import errors
from atende.identity.api_key_types import ApiKey, api_key_loader
from atende.identity.api_keys import ApiKeys
from atende.identity.types import MembershipRole

# -- Inputs ------------------------------------------------------------------------------


@strawberry.input(description="A new API key for an organization.")
class CreateApiKeyInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    name: str = strawberry.field(
        description="What the key is for (1 to 100 characters), to recognise it later."
    )
    role: MembershipRole = strawberry.field(
        default=MembershipRole.AGENT,
        description=(
            "What the key may do, as a member with this role (only owners create OWNER keys)."
        ),
    )


@strawberry.input(description="An API key to revoke.")
class RevokeApiKeyInput:
    api_key_id: strawberry.ID = strawberry.field(description="The key.")


# -- Results -----------------------------------------------------------------------------


@strawberry.type(description="The key was created.")
class CreateApiKeySuccess:
    api_key: ApiKey = strawberry.field(description="The new key.")
    secret: str = strawberry.field(
        description=(
            "The key's secret, for `Authorization: Bearer <secret>`. Shown this once: Atende "
            "keeps only its digest. Store it as a password."
        )
    )


@strawberry.type(description="The key was revoked (or already was): it no longer works.")
class RevokeApiKeySuccess:
    api_key: ApiKey = strawberry.field(description="The revoked key.")


CreateApiKeyResult: TypeAlias = Annotated[
    CreateApiKeySuccess | ValidationError | NotFound | ForbiddenResult,
    strawberry.union("CreateApiKeyResult", description="The outcome of creating an API key."),
]
RevokeApiKeyResult: TypeAlias = Annotated[
    RevokeApiKeySuccess | NotFound | ForbiddenResult,
    strawberry.union("RevokeApiKeyResult", description="The outcome of revoking an API key."),
]

_NOT_FOUND = NotFound(message=errors.NotFound.public_message)


async def load_api_key(info: Info, api_key_id: UUID) -> ApiKey:
    api_key = await api_key_loader(info.context).load(api_key_id)
    if api_key is None:  # the caller may see it: owners and admins, who just wrote it
        raise LookupError("API key not visible after writing it")
    return api_key


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(
        description=(
            "Create an API key for an organization (owners and admins; only owners create "
            "OWNER keys; API keys create none). The answer holds its secret, shown this once."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def create_api_key(
        self,
        info: Info,
        input: Annotated[
            CreateApiKeyInput, strawberry.argument(description="The organization, name and role.")
        ],
    ) -> CreateApiKeyResult:
        organization = id_or_none(input.organization_id)
        if organization is None:
            return _NOT_FOUND
        try:
            api_key_id, secret = await ApiKeys.create(
                await info.context.db(),
                organization_id=organization,
                name=input.name,
                role=input.role.value,
            )
        except Refusal as error:
            result = refusal_result(error)
            if isinstance(result, ValidationError | NotFound | ForbiddenResult):
                return result
            raise
        return CreateApiKeySuccess(api_key=await load_api_key(info, api_key_id), secret=secret)

    @strawberry.mutation(
        description=(
            "Revoke an API key (owners and admins; only owners revoke OWNER keys): requests "
            "with it are refused within seconds, and the database refuses its reads and "
            "writes at once. Revoking a revoked key changes nothing."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def revoke_api_key(
        self,
        info: Info,
        input: Annotated[RevokeApiKeyInput, strawberry.argument(description="The key.")],
    ) -> RevokeApiKeyResult:
        api_key = id_or_none(input.api_key_id)
        if api_key is None:
            return _NOT_FOUND
        try:
            revoked = await info.context.get(ApiKeys).revoke(await info.context.db(), api_key)
        except Refusal as error:
            result = refusal_result(error)
            if isinstance(result, NotFound | ForbiddenResult):
                return result
            raise
        return RevokeApiKeySuccess(api_key=await load_api_key(info, revoked))
