-- Contacts the team and integrations manage (issue 20, item 3): custom attributes, tags,
-- contacts created by hand or by the API before they ever wrote, and CSV imports.
--
-- Tags are a text[] on the contact, normalised (trimmed, inner spaces collapsed,
-- lower-case, no duplicates, sorted) by private.normalize_contact_tags, which every write
-- path applies and the check constraint holds to; one GIN index on (organization_id,
-- tags) answers "the organization's contacts tagged X" (tags @> array['x']), which is what
-- the contact list's filter and broadcasts to a tag ask.
--
-- An import is a row of contact_imports: the mutation stores the uploaded file's text and
-- defers contacts:import_contacts in the same transaction; the job checks every row,
-- then writes all of them in one transaction or none (any refused row: nothing written,
-- the refusals are the report). The file's text is dropped when the import finishes.

create function private.normalize_contact_tags(tags text[]) returns text[]
    language sql
    immutable
    parallel safe
    set search_path = pg_catalog
as $$
    select coalesce(array_agg(distinct t order by t), '{}')
    from (
        select lower(regexp_replace(btrim(tag), '\s+', ' ', 'g')) as t
        from unnest(tags) as tag
        where tag is not null
    ) as normalized
    where t <> ''
$$;
comment on function private.normalize_contact_tags(text[]) is
    'Tags as contacts keep them: trimmed, inner spaces collapsed, lower-case, distinct, sorted.';

create function private.contact_tags_are_valid(tags text[]) returns boolean
    language sql
    immutable
    parallel safe
    set search_path = pg_catalog
as $$
    -- Commas and semicolons separate tags in a CSV cell, so no tag holds one.
    select cardinality(tags) <= 50
       and tags = private.normalize_contact_tags(tags)
       and not exists (
           select from unnest(tags) as tag
           where char_length(tag) > 50 or tag ~ '[,;[:cntrl:]]'
       )
$$;
comment on function private.contact_tags_are_valid(text[]) is
    'At most 50 normalised tags of 1 to 50 characters, none holding a comma or semicolon.';

alter table public.contacts
    add column attributes jsonb not null default '{}'::jsonb,
    add column tags text[] not null default '{}',
    add constraint contacts_attributes_object check (jsonb_typeof(attributes) = 'object'),
    -- Room for a CRM's handful of fields, not a document store.
    add constraint contacts_attributes_size check (pg_column_size(attributes) <= 16384),
    add constraint contacts_tags_valid check (private.contact_tags_are_valid(tags));

comment on column public.contacts.attributes is
    'The business''s own fields about the contact (a JSON object of at most 16 kB).';
comment on column public.contacts.tags is
    'Labels to find and reach groups of contacts (normalised: private.normalize_contact_tags).';

create index contacts_organization_tags_idx on public.contacts using gin (organization_id, tags);

-- A rename updates a row, and a row's checks run as the caller: the tags' check must be
-- callable by members (it reads nothing).
revoke all on function private.normalize_contact_tags(text[]) from public;
revoke all on function private.contact_tags_are_valid(text[]) from public;
grant execute on function private.normalize_contact_tags(text[]) to authenticated, service_role;
grant execute on function private.contact_tags_are_valid(text[]) to authenticated, service_role;

-- Creating and changing one contact ---------------------------------------------------------
--
-- Any member (or API key) of the organization: agents talk to customers and already
-- rename them. Phone numbers arrive in E.164 (the API normalises them with
-- phonenumbers, as inbound messages are); the table's checks are the last word.

create function public.create_contact_v1(
    organization_id uuid,
    phone_number text,
    display_name text default null,
    attributes jsonb default '{}',
    tags text[] default '{}'
)
    returns table (outcome text, id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    new_id uuid;
begin
    if private.caller_role_in(organization_id) is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;
    insert into public.contacts as c (organization_id, phone_number, display_name, attributes, tags)
    values (create_contact_v1.organization_id, phone_number,
            nullif(btrim(display_name), ''), coalesce(attributes, '{}'),
            private.normalize_contact_tags(coalesce(tags, '{}')))
    on conflict on constraint contacts_organization_phone_number_key do nothing
    returning c.id into new_id;
    if new_id is null then
        return query select 'exists'::text, c.id from public.contacts as c
        where c.organization_id = create_contact_v1.organization_id
          and c.phone_number = create_contact_v1.phone_number;
        return;
    end if;
    return query select 'created'::text, new_id;
end;
$$;
comment on function public.create_contact_v1(uuid, text, text, jsonb, text[]) is
    'Adds a contact to the organization (any member); ''exists'' when the number is already one.';

create function public.update_contact_v1(
    contact_id uuid,
    display_name text default null,
    attributes jsonb default null,
    tags text[] default null
)
    returns table (outcome text, id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    organization uuid;
begin
    select c.organization_id into organization from public.contacts as c
    where c.id = contact_id
    for update;
    if organization is null or private.caller_role_in(organization) is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;
    -- Null leaves a field as it is; an empty name clears the team's name for them.
    update public.contacts as c
    set display_name = case when display_name is null then c.display_name
                            else nullif(btrim(display_name), '') end,
        attributes = coalesce(attributes, c.attributes),
        tags = coalesce(private.normalize_contact_tags(tags), c.tags)
    where c.id = contact_id;
    return query select 'updated'::text, contact_id;
end;
$$;
comment on function public.update_contact_v1(uuid, text, jsonb, text[]) is
    'Changes a contact''s name, attributes (replaced whole) or tags (any member).';

revoke all on function public.create_contact_v1(uuid, text, text, jsonb, text[]) from public;
revoke all on function public.update_contact_v1(uuid, text, jsonb, text[]) from public;
grant execute on function public.create_contact_v1(uuid, text, text, jsonb, text[])
    to authenticated, service_role;
grant execute on function public.update_contact_v1(uuid, text, jsonb, text[])
    to authenticated, service_role;

-- Imports -----------------------------------------------------------------------------------

create table public.contact_imports (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    -- The person who imported (null for an API key, or once their profile is gone).
    created_by uuid references public.profiles (id) on delete set null,
    file_name text,
    status text not null default 'pending',
    total_rows integer not null,
    checked_rows integer not null default 0,
    written_rows integer not null default 0,
    created_count integer not null default 0,
    updated_count integer not null default 0,
    refused_count integer not null default 0,
    -- Every refused row: [{"line": 12, "reason": "..."}], in line order.
    refusals jsonb not null default '[]',
    error text,
    -- The uploaded file's text, until the import finishes.
    source text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    finished_at timestamptz,
    constraint contact_imports_status_known check (
        status in ('pending', 'checking', 'writing', 'succeeded', 'refused', 'failed')
    ),
    constraint contact_imports_finished check (
        (status in ('succeeded', 'refused', 'failed')) = (finished_at is not null)
    ),
    constraint contact_imports_counts check (
        total_rows >= 0 and checked_rows between 0 and total_rows
        and written_rows between 0 and total_rows
        and created_count >= 0 and updated_count >= 0 and refused_count >= 0
    ),
    constraint contact_imports_refusals_array check (jsonb_typeof(refusals) = 'array'),
    constraint contact_imports_file_name_length check (char_length(file_name) <= 255),
    constraint contact_imports_error_length check (char_length(error) <= 1000)
);

comment on table public.contact_imports is
    'A CSV file of contacts being imported: all its rows are written, or none, by contacts:import_contacts.';
comment on column public.contact_imports.source is
    'The file''s text until the import finishes; never readable by clients.';

create index contact_imports_organization_id_idx
    on public.contact_imports (organization_id, created_at desc);
create index contact_imports_created_by_idx on public.contact_imports (created_by);

create trigger tg_contact_imports__set_updated_at
    before update on public.contact_imports
    for each row execute function private.tg__set_updated_at();

alter table public.contact_imports enable row level security;

create policy "Owners and admins can read their organization's contact imports"
    on public.contact_imports for select to authenticated
    using (organization_id in (select private.organizations_where_caller_is('{owner,admin}')));

revoke all on table public.contact_imports from public, anon, authenticated, service_role;
grant select (
    id, organization_id, created_by, file_name, status, total_rows, checked_rows, written_rows,
    created_count, updated_count, refused_count, refusals, error, created_at, updated_at,
    finished_at
) on table public.contact_imports to authenticated;
grant select, update on table public.contact_imports to service_role;

create function public.create_contact_import_v1(
    organization_id uuid,
    file_name text,
    source text,
    total_rows integer
)
    returns table (outcome text, id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    caller_role public.membership_role := private.caller_role_in(organization_id);
    new_id uuid;
begin
    if caller_role is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;
    -- Bulk changes to the customer list are the owners' and admins'.
    if caller_role not in ('owner', 'admin') then
        return query select 'forbidden'::text, null::uuid;
        return;
    end if;
    insert into public.contact_imports as i
        (organization_id, created_by, file_name, source, total_rows)
    values (create_contact_import_v1.organization_id,
            (select p.id from public.profiles as p where p.id = auth.uid()),
            file_name, source, total_rows)
    returning i.id into new_id;
    perform private.defer_job(
        'contacts:import_contacts',
        jsonb_build_object('import_id', new_id),
        'contacts',
        lock => 'contact_import:' || new_id
    );
    return query select 'created'::text, new_id;
end;
$$;
comment on function public.create_contact_import_v1(uuid, text, text, integer) is
    'Stores a CSV file of contacts (owners and admins) and defers its import in the same transaction.';

revoke all on function public.create_contact_import_v1(uuid, text, text, integer) from public;
grant execute on function public.create_contact_import_v1(uuid, text, text, integer)
    to authenticated, service_role;

-- What the import job calls (service role): one batch of checked rows, in the job's one
-- writing transaction. A number already a contact keeps what the file leaves empty: its
-- name when the cell is empty, its other attributes (the file's are merged in), its tags
-- (the file's are added).
create function private.write_contact_import_v1(import_id uuid, rows jsonb)
    returns table (created integer, updated integer)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    organization uuid;
begin
    select i.organization_id into strict organization from public.contact_imports as i
    where i.id = import_id and i.status = 'writing';
    return query
    with written as (
        insert into public.contacts as c (organization_id, phone_number, display_name, attributes, tags)
        select organization, r.phone_number, nullif(btrim(r.name), ''),
               coalesce(r.attributes, '{}'), private.normalize_contact_tags(coalesce(r.tags, '{}'))
        from jsonb_to_recordset(rows) as r(phone_number text, name text, attributes jsonb, tags text[])
        on conflict on constraint contacts_organization_phone_number_key do update
        set display_name = coalesce(excluded.display_name, c.display_name),
            attributes = c.attributes || excluded.attributes,
            tags = private.normalize_contact_tags(c.tags || excluded.tags)
        -- xmax is 0 on a row this statement inserted, set on one it updated.
        returning (c.xmax = 0) as inserted
    )
    select (count(*) filter (where inserted))::integer, (count(*) filter (where not inserted))::integer
    from written;
end;
$$;
comment on function private.write_contact_import_v1(uuid, jsonb) is
    'Creates or updates one batch of an import''s checked rows (the import job, service role).';
revoke all on function private.write_contact_import_v1(uuid, jsonb) from public;
grant execute on function private.write_contact_import_v1(uuid, jsonb) to service_role;
