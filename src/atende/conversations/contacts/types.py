"""GraphQL types of managed contacts: the fields the inbox's rows leave out (attributes,
tags; loaded for a page at once) and the CSV imports (``ContactImport``), with
``Organization.contactImport``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry.dataloader import DataLoader

from atende.conversations.contacts.service import queries
from atende.graphql.context import Context, Info
from atende.graphql.ids import Node, id_or_none

#: Refusals one ``refusals`` page gives at most.
MAX_REFUSALS_PAGE = 1_000


@dataclass(frozen=True)
class ContactDetails:
    attributes: dict[str, Any]
    tags: list[str]


def contact_details(context: Context) -> DataLoader[UUID, ContactDetails | None]:
    """The attributes and tags of contacts, one statement per operation's batch."""

    async def load(ids: Sequence[UUID]) -> list[ContactDetails | None]:
        conn = await context.db()
        rows = await (
            await conn.execute(queries["contact_details_by_id"], {"ids": list(ids)})
        ).fetchall()
        found = {
            row["id"]: ContactDetails(json.loads(row["attributes"]), list(row["tags"]))
            for row in rows
        }
        return [found.get(key) for key in ids]

    return context.loader("conversations.contact_details", lambda: DataLoader(load_fn=load))


@strawberry.enum(description="Where a contact import stands.")
class ContactImportStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Waiting for a worker.")
    CHECKING = strawberry.enum_value(
        "checking", description="Its rows are being checked (`checkedRows` grows)."
    )
    WRITING = strawberry.enum_value(
        "writing", description="Every row passed; they are being written (`writtenRows` grows)."
    )
    SUCCEEDED = strawberry.enum_value(
        "succeeded", description="Every row was written (`created`, `updated`)."
    )
    REFUSED = strawberry.enum_value(
        "refused",
        description="Some rows were refused (`refusals`); nothing was written. Fix them and"
        " import the whole file again.",
    )
    FAILED = strawberry.enum_value(
        "failed", description="The import could not be done (`error`); nothing was written."
    )


@strawberry.type(description="A row of the file that could not be imported.")
class ContactImportRefusal:
    line: int = strawberry.field(description="Its line in the file (the header is line 1).")
    reason: str = strawberry.field(description="Why, in words for the user.")


@strawberry.type(description="A CSV file of contacts being imported: all of its rows, or none.")
class ContactImport:
    id: strawberry.ID = strawberry.field(description="The import's id.")
    status: ContactImportStatus = strawberry.field(description="Where it stands.")
    file_name: str | None = strawberry.field(description="The uploaded file's name.")
    total_rows: int = strawberry.field(description="Contacts in the file (rows after the header).")
    checked_rows: int = strawberry.field(description="Rows checked so far.")
    written_rows: int = strawberry.field(
        description="Rows written so far (visible to others only once all are, at SUCCEEDED)."
    )
    created: int = strawberry.field(description="New contacts (SUCCEEDED).")
    updated: int = strawberry.field(description="Contacts already there, updated (SUCCEEDED).")
    refused_count: int = strawberry.field(description="Rows refused (REFUSED).")
    error: str | None = strawberry.field(description="Why it FAILED, in words for the user.")
    created_at: datetime = strawberry.field(description="When the file was uploaded.")
    finished_at: datetime | None = strawberry.field(description="When it finished; null before.")
    refusal_rows: strawberry.Private[list[dict[str, Any]]]
    organization_id: strawberry.Private[UUID]

    @strawberry.field(description="The refused rows, by line.")
    async def refusals(
        self,
        info: Info,
        first: Annotated[
            int,
            strawberry.argument(description="How many (at most 1000)."),
        ] = 100,
        after_line: Annotated[
            int | None, strawberry.argument(description="Only rows after this line.")
        ] = None,
    ) -> list[ContactImportRefusal]:
        limit = max(0, min(first, MAX_REFUSALS_PAGE))
        rows = (row for row in self.refusal_rows if after_line is None or row["line"] > after_line)
        page: list[ContactImportRefusal] = []
        for row in rows:
            if len(page) >= limit:
                break
            page.append(ContactImportRefusal(line=int(row["line"]), reason=str(row["reason"])))
        return page

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ContactImport:
        return cls(
            id=strawberry.ID(str(row["id"])),
            status=ContactImportStatus(row["status"]),
            file_name=row["file_name"],
            total_rows=row["total_rows"],
            checked_rows=row["checked_rows"],
            written_rows=row["written_rows"],
            created=row["created_count"],
            updated=row["updated_count"],
            refused_count=row["refused_count"],
            error=row["error"],
            created_at=row["created_at"],
            finished_at=row["finished_at"],
            refusal_rows=json.loads(row["refusals"]),
            organization_id=row["organization_id"],
        )


async def read_import(info: Info, import_id: UUID) -> ContactImport | None:
    conn = await info.context.db()
    row = await (await conn.execute(queries["import_by_id"], {"id": import_id})).fetchone()
    return ContactImport.from_row(row) if row is not None else None


async def organization_contact_import(
    root: strawberry.Parent[Node],
    info: Info,
    id: Annotated[strawberry.ID, strawberry.argument(description="The import's id.")],
) -> ContactImport | None:
    import_id = id_or_none(id)
    if import_id is None:
        return None
    found = await read_import(info, import_id)
    # Asked through one organization, found only in that one.
    if found is None or str(found.organization_id) != str(root.id):
        return None
    return found
