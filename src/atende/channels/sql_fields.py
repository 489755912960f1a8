"""``Channel`` as the selection compiler reads it (``atende.graphql.sql_selection``): its
columns (``channels_by_id``); its templates and broadcast rate are resolvers, not
compiled."""

from __future__ import annotations

from atende.graphql.sql_selection import SqlType, Value, sql_datetime, sql_enum, sql_id

CHANNEL = SqlType(
    {
        "id": Value(sql_id("{row}.id")),
        "kind": Value(sql_enum("{row}.kind")),
        "phoneNumber": Value("{row}.phone_number"),
        "displayName": Value("{row}.display_name"),
        "twilioAccountSid": Value("{row}.twilio_account_sid"),
        "enabled": Value("{row}.enabled"),
        "createdAt": Value(sql_datetime("{row}.created_at")),
        "updatedAt": Value(sql_datetime("{row}.updated_at")),
    }
)
