"""Identity's types as the selection compiler reads them (``atende.graphql.sql_selection``).

``organization(id:)`` answers null for an organization the caller does not belong to,
as the general path does: row-level security on ``public.organizations`` hides it
(``organizations_by_id``), and an id that is not one finds nothing (``id_or_none``).
Its ``IsAuthenticated`` refusal is the general path's: an anonymous caller is not
compiled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from atende.graphql.context import Context
from atende.graphql.ids import id_or_none
from atende.graphql.sql_selection import Related, SqlType, Value, sql_datetime, sql_id


def bind_organization(arguments: Mapping[str, Any], context: Context) -> Mapping[str, Any] | None:
    if context.caller.user_id is None:  # IsAuthenticated: the general path refuses
        return None
    return {"id": id_or_none(arguments["id"])}


#: The root field, for the schema's ``Query``.
ORGANIZATION_QUERY = Related(
    "from public.organizations as {alias} where {alias}.id = %(id)s::uuid",
    bind=bind_organization,
)

#: Identity's fields of ``Organization`` (the assembly adds the other domains').
ORGANIZATION_FIELDS: Mapping[str, Value] = {
    "id": Value(sql_id("{row}.id")),
    "name": Value("{row}.name"),
    "createdAt": Value(sql_datetime("{row}.created_at")),
}

#: ``User``: a profile (``profiles_by_id``; RLS shows the caller and their teammates).
USER = SqlType(
    {
        "id": Value(sql_id("{row}.id")),
        "email": Value("{row}.email"),
        "fullName": Value("{row}.full_name"),
        "emailVerified": Value("({row}.email_verified_at is not null)"),
    }
)
