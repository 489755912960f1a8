# `@strawberry.mutation(...)` is typed as returning Any (as in the modules pyproject.toml
# lists for this; this one is named for what it holds, not `mutations`).
# mypy: disallow-untyped-decorators=False
"""Retention and erasure in GraphQL: ``setMessageRetention``, ``eraseContact``, and the
organization's ``messageRetentionDays`` and ``contactErasures`` (composed into
``Organization`` by ``atende.api.organization``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, TypeAlias
from uuid import UUID

import strawberry
from strawberry.dataloader import DataLoader

from atende.conversations import privacy
from atende.errors import NotFound as NotFoundError
from atende.errors import Refusal
from atende.graphql.context import Context, Info
from atende.graphql.ids import Node, id_or_none
from atende.graphql.permissions import IsAuthenticated
from atende.graphql.results import ForbiddenResult, NotFound, ValidationError, refusal_result
from atende.identity.types import OrganizationType, organization_loader

MAX_ERASURES = 100


@strawberry.type(
    description="An erasure of a contact's personal data (LGPD): who did it is recorded too."
)
class ContactErasure:
    id: strawberry.ID = strawberry.field(description="The erasure's id.")
    contact_id: strawberry.ID = strawberry.field(
        description="The erased contact's id (nothing else of theirs is kept)."
    )
    erased_at: datetime = strawberry.field(description="When.")
    conversations: int = strawberry.field(description="Conversations erased.")
    messages: int = strawberry.field(description="Messages erased.")
    files: int = strawberry.field(description="Stored files erased.")
    erased_by_id: strawberry.ID | None = strawberry.field(
        description="The user (or API key) that erased it; null when the platform did."
    )
    phone_digest: str = strawberry.field(
        description="SHA-256 (hex) of `<organization id>:<phone number in E.164>`: tells"
        " whether a number you hold was erased, without keeping the number."
    )


@strawberry.input(description="The contact whose personal data and messages go.")
class EraseContactInput:
    contact_id: strawberry.ID = strawberry.field(description="The contact.")


@strawberry.type(description="The contact and everything that named them are gone.")
class EraseContactSuccess:
    erasure: ContactErasure = strawberry.field(description="What was erased (the audit row).")


@strawberry.input(description="How long an organization keeps its messages.")
class SetMessageRetentionInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    days: int | None = strawberry.field(
        default=None,
        description="Days to keep messages, 30 to 3650; null keeps them forever.",
    )


@strawberry.type(
    description="The retention is set; older messages go at the next upkeep (every 15 minutes)."
)
class SetMessageRetentionSuccess:
    organization: OrganizationType = strawberry.field(description="The organization.")


EraseContactResult: TypeAlias = Annotated[
    EraseContactSuccess | NotFound | ForbiddenResult,
    strawberry.union("EraseContactResult", description="The outcome of erasing a contact."),
]
SetMessageRetentionResult: TypeAlias = Annotated[
    SetMessageRetentionSuccess | ValidationError | NotFound | ForbiddenResult,
    strawberry.union(
        "SetMessageRetentionResult", description="The outcome of setting the message retention."
    ),
]

_NOT_FOUND = NotFound(message=NotFoundError.public_message)


def _erasure(row: dict[str, Any]) -> ContactErasure:
    erased_by = row.get("erased_by")
    return ContactErasure(
        id=strawberry.ID(str(row["id"])),
        contact_id=strawberry.ID(str(row["erased_contact_id"])),
        erased_at=row["erased_at"],
        conversations=int(row["conversations"]),
        messages=int(row["messages"]),
        files=int(row["files"]),
        erased_by_id=strawberry.ID(str(erased_by)) if erased_by is not None else None,
        phone_digest=str(row["phone_digest"]),
    )


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(
        description=(
            "Erase a contact (owners and admins; LGPD): their conversations, messages, stored"
            " files, the AI's runs on them, queued jobs and outgoing-webhook deliveries that"
            " name them. Usage keeps its counts; `Organization.contactErasures` records who"
            " erased whom and when. Cannot be undone."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def erase_contact(
        self,
        info: Info,
        input: Annotated[EraseContactInput, strawberry.argument(description="The contact.")],
    ) -> EraseContactResult:
        contact_id = id_or_none(input.contact_id)
        if contact_id is None:
            return _NOT_FOUND
        try:
            row = await privacy.erase_contact(await info.context.db(), contact_id)
        except Refusal as error:
            result = refusal_result(error)
            if isinstance(result, NotFound | ForbiddenResult):
                return result
            raise
        return EraseContactSuccess(erasure=_erasure(row))

    @strawberry.mutation(
        description=(
            "Set how long an organization keeps its messages (owners): messages older than"
            " that are deleted, with their files, by an upkeep job every 15 minutes; usage"
            " keeps counting them. Null keeps them forever (the default)."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def set_message_retention(
        self,
        info: Info,
        input: Annotated[
            SetMessageRetentionInput, strawberry.argument(description="The retention.")
        ],
    ) -> SetMessageRetentionResult:
        organization_id = id_or_none(input.organization_id)
        if organization_id is None:
            return _NOT_FOUND
        try:
            await privacy.set_message_retention(
                await info.context.db(), organization_id, input.days
            )
        except Refusal as error:
            result = refusal_result(error)
            if isinstance(result, ValidationError | NotFound | ForbiddenResult):
                return result
            raise
        organization = await organization_loader(info.context).load(organization_id)
        if organization is None:  # the caller is its owner: they see it
            raise LookupError("organization not visible after changing it")
        return SetMessageRetentionSuccess(organization=organization)


# -- Organization's fields (composed in atende.api.organization) ----------------------------


def retention_loader(context: Context) -> DataLoader[UUID, int | None]:
    async def load(ids: Sequence[UUID]) -> list[int | None]:
        found = await privacy.message_retention(await context.db(), list(ids))
        return [found.get(organization_id) for organization_id in ids]

    return context.loader("conversations.retention", lambda: DataLoader(load_fn=load))


async def organization_message_retention_days(
    root: strawberry.Parent[Node], info: Info
) -> int | None:
    return await retention_loader(info.context).load(UUID(str(root.id)))


async def organization_contact_erasures(
    root: strawberry.Parent[Node],
    info: Info,
    first: Annotated[
        int, strawberry.argument(description=f"How many, newest first (at most {MAX_ERASURES}).")
    ] = 20,
) -> list[ContactErasure]:
    rows = await privacy.contact_erasures(
        await info.context.db(), UUID(str(root.id)), max(0, min(first, MAX_ERASURES))
    )
    return [_erasure(row) for row in rows]
