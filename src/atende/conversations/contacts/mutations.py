"""The contacts' root mutations: ``createContact``, ``updateContact`` (any member) and
``importContacts`` (owners and admins), with their input and result types."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON

from atende.conversations import loaders
from atende.conversations.contacts import importer, service
from atende.conversations.contacts.types import ContactImport, read_import
from atende.conversations.types import Contact
from atende.errors import Refusal
from atende.graphql.context import Info
from atende.graphql.ids import id_or_none
from atende.graphql.permissions import IsAuthenticated
from atende.graphql.results import ForbiddenResult, NotFound, ValidationError, refusal_result


@strawberry.input(description="A new contact of the organization.")
class CreateContactInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    phone_number: str = strawberry.field(
        description="Their number, as people write it: +55 11 98765-4321, (11) 98765-4321,"
        " 011 98765-4321... (Brazil unless it starts with +); stored in E.164."
    )
    name: str | None = strawberry.field(
        default=None, description="The team's name for them (up to 200 characters)."
    )
    attributes: JSON | None = strawberry.field(
        default=None,
        description="The business's own fields: a JSON object of up to 100 keys and 8 kB.",
    )
    tags: list[str] | None = strawberry.field(
        default=None,
        description="Tags (up to 50, each up to 50 characters, no commas or semicolons);"
        " stored lower-case, trimmed, without duplicates.",
    )


@strawberry.input(description="Changes to a contact; fields left out stay as they are.")
class UpdateContactInput:
    contact_id: strawberry.ID = strawberry.field(description="The contact.")
    name: str | None = strawberry.field(
        default=None, description="A new name; an empty string clears it."
    )
    attributes: JSON | None = strawberry.field(
        default=None, description="New attributes, replacing all the old ones (a JSON object)."
    )
    tags: list[str] | None = strawberry.field(
        default=None, description="New tags, replacing the old ones (`[]` removes them all)."
    )


@strawberry.input(description="A CSV file of contacts to import into the organization.")
class ImportContactsInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    # Optional in the schema, as every upload here is (clients and tools that generate
    # operations cannot make one up); a request without it is a ValidationError.
    file: Upload | None = strawberry.field(
        default=None,
        description="The file (GraphQL multipart request): UTF-8 CSV, comma, semicolon or tab"
        " separated, up to 16 MB and 200,000 rows, a header row with a phone number column"
        " (telefone, celular, whatsapp, phone), optionally nome/name and tags/etiquetas;"
        " every other column becomes an attribute named by its header.",
    )


@strawberry.type(description="The contact was created.")
class CreateContactSuccess:
    contact: Contact = strawberry.field(description="The new contact.")


@strawberry.type(description="The contact was changed.")
class UpdateContactSuccess:
    contact: Contact = strawberry.field(description="The contact as it is now.")


@strawberry.type(
    description="The file was accepted; its rows are checked and written in the background."
    " Poll `Organization.contactImport(id)` until it is SUCCEEDED, REFUSED or FAILED."
)
class ImportContactsSuccess:
    contact_import: ContactImport = strawberry.field(description="The import (status PENDING).")


CreateContactResult = Annotated[
    CreateContactSuccess | ValidationError | NotFound,
    strawberry.union("CreateContactResult", description="The contact, or why not."),
]
UpdateContactResult = Annotated[
    UpdateContactSuccess | ValidationError | NotFound,
    strawberry.union("UpdateContactResult", description="The contact, or why not."),
]
ImportContactsResult = Annotated[
    ImportContactsSuccess | ValidationError | ForbiddenResult | NotFound,
    strawberry.union("ImportContactsResult", description="The import, or why not."),
]


async def _contact(info: Info, contact_id: UUID) -> Contact:
    loader = loaders.contacts(info.context)
    loaders.forget(loader, contact_id)
    contact = await loader.load(contact_id)
    if contact is None:  # the caller just wrote it in this transaction; RLS shows it
        raise service.ContactNotFound()
    return contact


def _result(error: Refusal) -> Any:
    return refusal_result(error)


@strawberry.type
class ContactsMutation:
    @strawberry.mutation(
        description="Add a contact to the organization (any member or API key): someone who"
        " never wrote yet. A number already a contact is refused (ValidationError on"
        " `phoneNumber`); change that one with `updateContact`.",
        permission_classes=[IsAuthenticated],
    )
    async def create_contact(
        self,
        info: Info,
        input: Annotated[
            CreateContactInput,
            strawberry.argument(description="The organization, number, name, attributes, tags."),
        ],
    ) -> CreateContactResult:
        try:
            organization = id_or_none(input.organization_id)
            if organization is None:
                raise service.OrganizationNotFound()
            phone = service.clean_phone_number(input.phone_number)
            name = service.clean_name(input.name) or None
            attributes = service.clean_attributes(
                input.attributes if input.attributes is not None else {}
            )
            tags = service.clean_tags(input.tags or [])
            contact_id = await service.create_contact(
                await info.context.db(),
                organization,
                phone_number=phone,
                name=name,
                attributes=attributes,
                tags=tags,
            )
            return CreateContactSuccess(contact=await _contact(info, contact_id))
        except Refusal as error:
            result: CreateContactResult = _result(error)
            return result

    @strawberry.mutation(
        description="Change a contact's name, attributes or tags (any member or API key).",
        permission_classes=[IsAuthenticated],
    )
    async def update_contact(
        self,
        info: Info,
        input: Annotated[
            UpdateContactInput,
            strawberry.argument(description="The contact and what changes."),
        ],
    ) -> UpdateContactResult:
        try:
            contact_id = id_or_none(input.contact_id)
            if contact_id is None:
                raise service.ContactNotFound()
            await service.update_contact(
                await info.context.db(),
                contact_id,
                name=service.clean_name(input.name),
                attributes=(
                    service.clean_attributes(input.attributes)
                    if input.attributes is not None
                    else None
                ),
                tags=service.clean_tags(input.tags) if input.tags is not None else None,
            )
            return UpdateContactSuccess(contact=await _contact(info, contact_id))
        except Refusal as error:
            result: UpdateContactResult = _result(error)
            return result

    @strawberry.mutation(
        description="Import a CSV file of contacts (owners and admins; agents get Forbidden,"
        " another organization NotFound). A file that cannot be read (not UTF-8, too large,"
        " no phone number column) is refused at once (ValidationError on `file`); its rows"
        " are checked and written by a background job: all of them, or none when any row is"
        " refused (the import's `refusals` list each one with its line).",
        permission_classes=[IsAuthenticated],
    )
    async def import_contacts(
        self,
        info: Info,
        input: Annotated[
            ImportContactsInput,
            strawberry.argument(description="The organization and the file."),
        ],
    ) -> ImportContactsResult:
        # Strawberry types an upload as bytes; on Starlette it is an UploadFile.
        upload: Any = input.file
        try:
            organization = id_or_none(input.organization_id)
            if organization is None:
                raise service.OrganizationNotFound()
            if upload is None:
                raise importer.InvalidContactFile("Envie o arquivo CSV dos contatos.")
            data = await upload.read(importer.MAX_FILE_BYTES + 1)
            contact_file = await asyncio.to_thread(importer.read_contact_file, data)
            import_id = await importer.create_import(
                await info.context.db(),
                organization,
                file_name=getattr(upload, "filename", None),
                contact_file=contact_file,
            )
            contact_import = await read_import(info, import_id)
            assert contact_import is not None
            return ImportContactsSuccess(contact_import=contact_import)
        except Refusal as error:
            result: ImportContactsResult = _result(error)
            return result
        finally:
            if upload is not None:
                await upload.close()
