-- Retention and erasure (atende.conversations.privacy): the rules are SQL functions of
-- migration 20261207001800_retention_and_erasure.

-- name: set_message_retention
select public.set_message_retention_v1(%(organization_id)s, %(days)s) as days;

-- name: message_retention_of_organizations
-- Rows the caller may read (row-level security on organizations).
select id, message_retention_days
from public.organizations
where id = any(%(ids)s::uuid[]);

-- name: erase_contact
select id, organization_id, erased_contact_id, phone_digest, erased_by, erased_at,
       conversations, messages, files
from public.erase_contact_v1(%(contact_id)s);

-- name: contact_erasures
-- The erasures of an organization, newest first (owners: row-level security).
select id, organization_id, erased_contact_id, phone_digest, erased_by, erased_at,
       conversations, messages, files
from public.contact_erasures
where organization_id = %(organization_id)s
order by erased_at desc, id
limit %(limit)s;

-- name: delete_expired_messages
select messages, runs, deliveries from private.delete_expired_messages_v1(%(batch_size)s);

-- name: maintain_message_partitions
-- public.messages' monthly partitions: made ahead, the oldest empty ones dropped
-- (migration 20261207002002_maintain_message_partitions).
select action, partition_name, row_count
from private.maintain_message_partitions(%(ahead)s, coalesce(%(as_of)s::timestamptz, now()));

-- name: compact_usage_counters
select private.compact_usage_counters_v1(%(since)s, %(batch_size)s) as folded;

-- name: claim_media_deletions
select id, storage_key from private.claim_media_deletions_v1(%(batch_size)s);

-- name: forget_media_deletions
delete from private.media_deletions where id = any(%(ids)s::bigint[]);
