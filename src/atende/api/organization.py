"""The schema's ``Organization``: identity's fields, and each domain's fields about one.

An organization is identity's (``atende.identity.types.OrganizationBase``), but its inbox,
contacts, usage and channels belong to other domains, which identity must not import.
They meet here, in the assembly, which may import every domain; identity's fields that
return an organization name this type lazily (``OrganizationType``).
"""

from __future__ import annotations

import strawberry

from atende.channels import sql_fields as channel_sql
from atende.channels.broadcasts.types import organization_broadcasts
from atende.channels.types import organization_channels
from atende.conversations import sql_fields as conversation_sql
from atende.conversations.contacts.types import organization_contact_import
from atende.conversations.privacy_mutations import (
    organization_contact_erasures,
    organization_message_retention_days,
)
from atende.conversations.queries import (
    organization_contacts,
    organization_conversations,
    organization_usage,
)
from atende.graphql.sql_selection import SqlType
from atende.identity import sql_fields as identity_sql
from atende.identity import types as identity
from atende.identity.api_key_types import organization_api_keys
from atende.knowledge.types import organization_knowledge_documents
from atende.webhooks.types import organization_webhook_endpoints


@strawberry.type(description="A business using Atende: the tenant everything belongs to.")
class Organization(identity.OrganizationBase):
    # The inbox (atende.conversations.queries).
    conversations = strawberry.field(
        resolver=organization_conversations,
        description="The inbox: conversations by last activity, newest first.",
    )
    contacts = strawberry.field(
        resolver=organization_contacts, description="The organization's contacts, by name."
    )
    contact_import = strawberry.field(
        resolver=organization_contact_import,
        description="A CSV import of contacts (`importContacts`), to follow its progress and"
        " read its report (owners and admins; null for others or an unknown id).",
    )
    usage = strawberry.field(
        resolver=organization_usage,
        description="Conversations, messages, AI replies and tokens in a period.",
    )
    # Retention and erasure (atende.conversations.privacy_mutations).
    message_retention_days = strawberry.field(
        resolver=organization_message_retention_days,
        description="Days its messages are kept (`setMessageRetention`); null: forever.",
    )
    contact_erasures = strawberry.field(
        resolver=organization_contact_erasures,
        description="Contacts erased (`eraseContact`), newest first (owners; empty for others).",
    )
    # Its channels (atende.channels.types).
    channels = strawberry.field(
        resolver=organization_channels, description="The organization's channels, oldest first."
    )
    broadcasts = strawberry.field(
        resolver=organization_broadcasts,
        description="Its broadcasts (a template sent to many contacts), newest first.",
    )
    # Its knowledge base (atende.knowledge.types).
    knowledge_documents = strawberry.field(
        resolver=organization_knowledge_documents,
        description="The documents the assistant answers from, newest first.",
    )
    # Its API keys (atende.identity.api_key_types): identity's, composed here as the others
    # are, so identity's base type stays the people's.
    api_keys = strawberry.field(
        resolver=organization_api_keys,
        description=(
            "The organization's API keys, newest first, revoked ones too (owners and admins; "
            "empty for agents)."
        ),
    )
    # Its outgoing webhooks (atende.webhooks.types).
    webhook_endpoints = strawberry.field(
        resolver=organization_webhook_endpoints,
        description=(
            "Where its events are posted, oldest first (owners and admins; empty for agents)."
        ),
    )


#: How the selection compiler reads the schema's types (``atende.graphql.sql_selection``):
#: each domain's declarations, and ``Organization`` composed as above.
SQL_TYPES: dict[str, SqlType] = {
    **conversation_sql.SQL_TYPES,
    "Channel": channel_sql.CHANNEL,
    "User": identity_sql.USER,
    "Organization": SqlType(
        {**identity_sql.ORGANIZATION_FIELDS, **conversation_sql.ORGANIZATION_FIELDS}
    ),
    "Query": SqlType(
        {"organization": identity_sql.ORGANIZATION_QUERY, **conversation_sql.QUERY_FIELDS}
    ),
}
