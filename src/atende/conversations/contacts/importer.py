"""Importing contacts from a CSV file: all of its rows, or none.

The mutation (``importContacts``) reads the upload and checks what can be checked at
once (size, UTF-8, a header with a phone number column, the number of rows), stores the
file's text as an import (``public.contact_imports``) and defers
``contacts:import_contacts`` in the same transaction; it answers with the import, which
the client polls (``Organization.contactImport(id)``). Always a job, whatever the size:
one path, and no request holds a connection while 100,000 numbers are parsed.

The job (``ContactImporter``) checks every row (the phone number through phonenumbers
as everywhere else; the name; the tags), reporting its progress as it goes. Any refused
row refuses the file: nothing is written, and the report lists every refused row with
its line number and reason. Otherwise every row is written in one transaction, in
batches (``private.write_contact_import_v1``): a number already a contact is updated
(its name when the cell is not empty, the row's attributes merged in, its tags added).

The file: comma, semicolon (Excel in Portuguese) or tab separated, UTF-8 (a BOM is fine);
a header row; the phone number column (``telefone``, ``phone``, ``celular``,
``whatsapp``...), optionally a name (``nome``, ``name``) and tags (``tags``,
``etiquetas``: separated by commas or semicolons in the cell); every other column is an
attribute named by its header, an empty cell leaving that attribute out.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import csv
import io
import logging
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from atende.conversations.contacts.service import (
    MAX_ATTRIBUTES,
    OrganizationNotFound,
    clean_attributes,
    clean_name,
    clean_phone_number,
    clean_tags,
    queries,
)
from atende.db.pool import Connection
from atende.db.session import Caller, Database
from atende.errors import Forbidden, InvalidInput, Refusal

logger = logging.getLogger("atende.conversations.contact_import")

IMPORT_TASK = "contacts:import_contacts"
#: The largest file: 100,000 contacts with a few attributes each take about 10 MB.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_ROWS = 200_000
#: Rows per statement of the writing transaction, and between progress reports.
WRITE_BATCH_ROWS = 2_000
PROGRESS_EVERY_ROWS = 5_000

#: Headers (lower-case, without accents, spaces and dashes as ``_``) of each column.
PHONE_HEADERS = frozenset(
    {
        "telefone",
        "phone",
        "phone_number",
        "phonenumber",
        "celular",
        "whatsapp",
        "numero",
        "fone",
        "tel",
        "mobile",
        "telefone_celular",
        "numero_de_telefone",
    }
)
NAME_HEADERS = frozenset({"nome", "name", "nome_completo", "full_name"})
TAG_HEADERS = frozenset({"tags", "tag", "etiquetas", "etiqueta"})


class InvalidContactFile(InvalidInput):
    def __init__(self, user_message: str) -> None:
        super().__init__("file", user_message)


def header_key(text: str) -> str:
    """A header as the column lists above spell it: ``Número de Telefone`` →
    ``numero_de_telefone``."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "_".join(plain.lower().replace("-", " ").split())


@dataclass(frozen=True)
class Columns:
    """Which column holds what."""

    phone: int
    name: int | None
    tags: int | None
    attributes: tuple[tuple[int, str], ...]
    width: int


@dataclass(frozen=True)
class ContactFile:
    """A file that passed the upload's checks: its text, dialect and columns."""

    text: str
    delimiter: str
    columns: Columns
    total_rows: int


def decode(data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise InvalidContactFile(
            f"O arquivo passa de {MAX_FILE_BYTES // (1024 * 1024)} MB."
            " Divida-o em arquivos menores."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidContactFile(
            'O arquivo não está em UTF-8. No Excel, salve como "CSV UTF-8 (delimitado por'
            ' vírgulas)"; no Google Planilhas, baixe como CSV.'
        ) from None
    if "\x00" in text:
        raise InvalidContactFile("O arquivo não é um CSV de texto (tem caracteres nulos).")
    return text


def sniff_delimiter(header_line: str) -> str:
    """The delimiter the header uses most: ``;`` (Excel in Portuguese), ``,`` or tab."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def columns_of(header: list[str]) -> Columns:
    keys = [header_key(cell) for cell in header]
    phone = [i for i, key in enumerate(keys) if key in PHONE_HEADERS]
    if not phone:
        raise InvalidContactFile(
            "O arquivo precisa de uma coluna de telefone na primeira linha (telefone, celular,"
            " whatsapp ou phone)."
        )
    if len(phone) > 1:
        raise InvalidContactFile("O arquivo tem mais de uma coluna de telefone.")
    names = [i for i, key in enumerate(keys) if key in NAME_HEADERS]
    tags = [i for i, key in enumerate(keys) if key in TAG_HEADERS]
    if len(names) > 1 or len(tags) > 1:
        raise InvalidContactFile("O arquivo tem mais de uma coluna de nome ou de etiquetas.")
    taken = {phone[0], *names, *tags}
    attributes: list[tuple[int, str]] = []
    seen: set[str] = set()
    for index, cell in enumerate(header):
        if index in taken:
            continue
        name = cell.strip()
        if not name:
            raise InvalidContactFile(f"A coluna {index + 1} não tem nome na primeira linha.")
        if name in seen:
            raise InvalidContactFile(f'A coluna "{name}" aparece duas vezes.')
        seen.add(name)
        attributes.append((index, name))
    if len(attributes) > MAX_ATTRIBUTES:
        raise InvalidContactFile(f"O arquivo tem mais de {MAX_ATTRIBUTES} colunas de atributos.")
    try:
        clean_attributes({name: "" for _, name in attributes}, "file")
    except InvalidInput as error:
        raise InvalidContactFile(error.user_message) from None
    return Columns(
        phone=phone[0],
        name=names[0] if names else None,
        tags=tags[0] if tags else None,
        attributes=tuple(attributes),
        width=len(header),
    )


def records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Each non-empty record after the header, with the line it starts on (1 is the
    header's; a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    next(reader, None)
    line = reader.line_num
    for record in reader:
        start, line = line + 1, reader.line_num
        if record and any(cell.strip() for cell in record):
            yield start, record


def read_contact_file(data: bytes) -> ContactFile:
    """The upload's checks: ``InvalidContactFile`` (field ``file``) when the file cannot
    be imported as a whole."""
    text = decode(data)
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise InvalidContactFile("O arquivo está vazio ou não tem a linha de cabeçalho.")
    delimiter = sniff_delimiter(first_line)
    try:
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
        total = 0
        for _ in records(text, delimiter):
            total += 1
            if total > MAX_ROWS:
                raise InvalidContactFile(
                    f"O arquivo passa de {MAX_ROWS} contatos. Divida-o em arquivos menores."
                )
    except csv.Error as error:
        raise InvalidContactFile(f"O arquivo não é um CSV válido: {error}.") from None
    columns = columns_of(header)
    if total == 0:
        raise InvalidContactFile("O arquivo não tem nenhum contato depois do cabeçalho.")
    return ContactFile(text=text, delimiter=delimiter, columns=columns, total_rows=total)


@dataclass
class Checked:
    """The rows of a file, checked: those to write, and those refused."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[dict[str, Any]] = field(default_factory=list)


def check_row(columns: Columns, record: list[str]) -> dict[str, Any]:
    """One record as the batch function takes it, or ``Refusal`` with the reason."""
    if len(record) > columns.width:
        raise Refusal(user_message="A linha tem mais colunas que o cabeçalho.")
    cells = record + [""] * (columns.width - len(record))
    phone_text = cells[columns.phone].strip()
    if not phone_text:
        raise Refusal(user_message="Falta o número de telefone.")
    try:
        phone = clean_phone_number(phone_text)
        name = clean_name(cells[columns.name]) if columns.name is not None else None
        tags = (
            clean_tags(cells[columns.tags].replace(";", ",").split(","))
            if columns.tags is not None
            else []
        )
        attributes = {
            key: value.strip()
            for index, key in columns.attributes
            if (value := cells[index]).strip()
        }
        clean_attributes(attributes)
    except InvalidInput as error:
        if error.field == "phoneNumber":
            raise Refusal(user_message=f'Telefone "{phone_text[:40]}" inválido.') from None
        raise Refusal(user_message=error.user_message) from None
    return {"phone_number": phone, "name": name or None, "attributes": attributes, "tags": tags}


def check_rows(contact_file: ContactFile, progress: Callable[[int], None] | None = None) -> Checked:
    """Every row checked; a number twice in the file refuses its later lines."""
    checked = Checked()
    first_line: dict[str, int] = {}
    for count, (line, record) in enumerate(
        records(contact_file.text, contact_file.delimiter), start=1
    ):
        try:
            row = check_row(contact_file.columns, record)
            earlier = first_line.setdefault(row["phone_number"], line)
            if earlier != line:
                raise Refusal(user_message=f"O mesmo número já está na linha {earlier}.")
            checked.rows.append(row)
        except Refusal as refusal:
            checked.refusals.append({"line": line, "reason": refusal.user_message})
        if progress is not None and count % PROGRESS_EVERY_ROWS == 0:
            progress(count)
    return checked


class ContactImporter:
    """The job's work: check an import's rows, then write all of them or none."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def _progress(self, import_id: UUID, *, checked: int, written: int) -> None:
        # Its own short transaction, so pollers see it while the writing one is open.
        await self.database.fetch_one(
            Caller.service(),
            queries["import_progress"],
            {"id": import_id, "checked_rows": checked, "written_rows": written},
        )

    async def _finish(self, import_id: UUID, status: str, **values: Any) -> None:
        async with self.database.transaction(Caller.service()) as conn:
            await self._finish_on(conn, import_id, status, **values)

    async def _finish_on(
        self,
        conn: Connection,
        import_id: UUID,
        status: str,
        *,
        created: int = 0,
        updated: int = 0,
        refusals: list[dict[str, Any]] | None = None,
        error: str | None = None,
    ) -> None:
        await conn.execute(
            queries["finish_import"],
            {
                "id": import_id,
                "status": status,
                "created": created,
                "updated": updated,
                "refused": len(refusals or []),
                "refusals": Jsonb(refusals or []),
                "error": error,
            },
        )

    async def fail(self, import_id: UUID, error: str) -> None:
        """Mark an unfinished import failed (its job failed for good)."""
        await self._finish(import_id, "failed", error=error)

    async def run(self, import_id: UUID) -> str:
        """Import it; returns the import's final status (``"gone"`` when it had
        already finished or no longer exists)."""
        claimed = await self.database.fetch_one(
            Caller.service(), queries["claim_import"], {"id": import_id}
        )
        if claimed is None or claimed["source"] is None:
            return "gone"
        try:
            contact_file = read_contact_file(str(claimed["source"]).encode())
        except InvalidInput as refusal:  # checked at upload; only a changed rule gets here
            await self._finish(import_id, "failed", error=refusal.user_message)
            return "failed"
        # The checks are CPU-bound (phonenumbers): in a thread, so the worker's other
        # jobs go on; each progress report is sent from the event loop as it comes.
        loop = asyncio.get_running_loop()
        reports: list[concurrent.futures.Future[None]] = []

        def report(count: int) -> None:
            reports.append(
                asyncio.run_coroutine_threadsafe(
                    self._progress(import_id, checked=count, written=0), loop
                )
            )

        checked = await asyncio.to_thread(check_rows, contact_file, report)
        for future in reports:
            await asyncio.wrap_future(future)
        if checked.refusals:
            await self._finish(import_id, "refused", refusals=checked.refusals)
            return "refused"
        await self.database.fetch_one(Caller.service(), queries["start_writing"], {"id": import_id})
        created = updated = 0
        try:
            async with self.database.transaction(Caller.service()) as conn:
                for start in range(0, len(checked.rows), WRITE_BATCH_ROWS):
                    batch = checked.rows[start : start + WRITE_BATCH_ROWS]
                    row = await (
                        await conn.execute(
                            queries["write_batch"], {"id": import_id, "rows": Jsonb(batch)}
                        )
                    ).fetchone()
                    assert row is not None
                    created += int(row["created"])
                    updated += int(row["updated"])
                    await self._progress(
                        import_id, checked=contact_file.total_rows, written=start + len(batch)
                    )
                await self._finish_on(
                    conn, import_id, "succeeded", created=created, updated=updated
                )
        except psycopg.errors.IntegrityError as failure:
            # A rule only the database knows (an existing contact's tags and the file's
            # together over the limit): the writing transaction rolled back whole.
            logger.warning(
                "contact import %s refused by the database: %s",
                import_id,
                failure.diag.constraint_name,
            )
            await self._finish(
                import_id,
                "failed",
                error="Nada foi gravado: um contato ficaria com etiquetas ou atributos demais"
                " ao juntar os do arquivo aos que já tinha.",
            )
            return "failed"
        return "succeeded"


class ImportForbidden(Forbidden):
    public_message = "Só proprietários e administradores podem importar contatos."


async def create_import(
    conn: Connection, organization_id: UUID, *, file_name: str | None, contact_file: ContactFile
) -> UUID:
    """Store the file as an import and defer its job, as the caller (owners and admins)."""
    row = await (
        await conn.execute(
            queries["create_import"],
            {
                "organization_id": organization_id,
                "file_name": (file_name or "")[:255] or None,
                "source": contact_file.text,
                "total_rows": contact_file.total_rows,
            },
        )
    ).fetchone()
    outcome = row["outcome"] if row else "not_found"
    if outcome == "forbidden":
        raise ImportForbidden()
    if outcome != "created" or row is None:
        raise OrganizationNotFound()
    return UUID(str(row["id"]))
