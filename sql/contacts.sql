-- Contacts the team and integrations manage (atende.conversations.contacts) and their CSV
-- imports (atende.conversations.contact_import). The team's statements run as the caller
-- (RLS and the functions' role checks decide); the import job's as the platform.

-- name: create_contact
select outcome, id
from public.create_contact_v1(
    organization_id => %(organization_id)s,
    phone_number => %(phone_number)s,
    display_name => %(display_name)s,
    attributes => %(attributes)s,
    tags => %(tags)s
);

-- name: update_contact
select outcome, id
from public.update_contact_v1(
    contact_id => %(contact_id)s,
    display_name => %(display_name)s,
    attributes => %(attributes)s,
    tags => %(tags)s
);

-- name: contact_details_by_id
-- The fields the inbox's joined rows leave out (attributes, tags), for the API's loader.
select id, attributes::text as attributes, tags
from public.contacts
where id = any(%(ids)s::uuid[]);

-- name: create_import
select outcome, id
from public.create_contact_import_v1(
    organization_id => %(organization_id)s,
    file_name => %(file_name)s,
    source => %(source)s,
    total_rows => %(total_rows)s
);

-- name: import_by_id
-- As the caller: owners and admins of its organization see it (RLS).
select id, organization_id, file_name, status, total_rows, checked_rows, written_rows,
       created_count, updated_count, refused_count, refusals::text as refusals, error,
       created_at, updated_at, finished_at
from public.contact_imports
where id = %(id)s;

-- name: claim_import
-- The job's start: the import's file, unless it already finished (a job run twice).
update public.contact_imports
set status = 'checking', checked_rows = 0, written_rows = 0
where id = %(id)s and finished_at is null
returning organization_id, source, total_rows;

-- name: import_progress
update public.contact_imports
set checked_rows = %(checked_rows)s, written_rows = %(written_rows)s
where id = %(id)s and finished_at is null
returning id;

-- name: start_writing
update public.contact_imports
set status = 'writing', checked_rows = total_rows
where id = %(id)s and finished_at is null
returning id;

-- name: write_batch
select created, updated
from private.write_contact_import_v1(import_id => %(id)s, rows => %(rows)s);

-- name: finish_import
update public.contact_imports
set status = %(status)s,
    checked_rows = case when %(status)s = 'failed' then checked_rows else total_rows end,
    written_rows = case when %(status)s = 'succeeded' then total_rows else 0 end,
    created_count = %(created)s,
    updated_count = %(updated)s,
    refused_count = %(refused)s,
    refusals = %(refusals)s,
    error = %(error)s,
    source = null,
    finished_at = now()
where id = %(id)s and finished_at is null;

-- name: contacts_tag_page
-- One page of an organization's contacts with a tag, by name (the tag through
-- contacts_organization_tags_idx; a search narrows it further).
select id, organization_id, phone_number, profile_name, display_name, opted_out_at,
       last_inbound_at, created_at, attributes, tags,
       lower(coalesce(display_name, profile_name, phone_number)) as sort_key
from public.contacts
where organization_id = %(organization_id)s
  and tags @> array[%(tag)s::text]
  and (lower(coalesce(display_name, profile_name, phone_number)), id)
      > (%(after_key)s, %(after_id)s)
  and (%(pattern)s::text is null
       or (coalesce(display_name, '') || ' ' || coalesce(profile_name, '') || ' ' || phone_number)
          ilike %(pattern)s)
order by lower(coalesce(display_name, profile_name, phone_number)), id
limit %(limit)s;

-- name: contacts_tag_count
select count(*) as total
from public.contacts
where organization_id = %(organization_id)s
  and tags @> array[%(tag)s::text]
  and (%(pattern)s::text is null
       or (coalesce(display_name, '') || ' ' || coalesce(profile_name, '') || ' ' || phone_number)
          ilike %(pattern)s);
