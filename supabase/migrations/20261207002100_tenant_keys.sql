-- Keys ready for a Postgres sharded by organization (docs/scaling.md, step 3: Citus).
-- A distributed table's primary key and unique indexes must hold its distribution
-- column, and a foreign key between two distributed tables must join on it, so that the
-- check stays on one node. Every tenant table is distributed by organization_id; this
-- migration gives each one those keys now, while the tables are small, rather than on
-- the day of the move. supabase/tests/tenant_keys.test.sql checks them, and fails on a
-- new table that does not follow.
--
-- Primary keys: (id, organization_id), id FIRST. Every lookup by id alone (a GraphQL
-- node, a job's conversation, a message's run) keeps using the primary key's index with
-- an equality on its leading column; with organization_id first, `where id = $1` would
-- need the organization too or fall back to reading the whole index (PG15 has no skip
-- scan). Keys of several columns keep theirs first and gain organization_id last, and so
-- do unique indexes: the queries and ON CONFLICT targets that used them go on using them.
-- id stays unique on its own in practice (gen_random_uuid()); what the key adds is the
-- organization, so a shard can check the key alone.
--
-- Foreign keys between tenant tables: (x_id, organization_id) references x (id,
-- organization_id), in the order of the referenced key. Besides keeping the check on one
-- node, this proves in the database that a row and what it points at belong to the same
-- organization (until now, the functions and row-level security did). ON DELETE SET NULL
-- keys name the one column they clear (PG15: `on delete set null (x_id)`):
-- organization_id is not null and stays.
--
-- Tables that are not distributed by organization (listed again, with their reasons, in
-- supabase/tests/tenant_keys.test.sql):
--   reference tables (a copy on every node):
--     organizations  the tenants themselves: the distribution key is their id;
--     profiles       a person may belong to several organizations;
--     channels       ingest finds a channel by its Twilio account and number before it
--                    knows the organization, on every inbound message, and one number
--                    belongs to one organization across all of them: the unique
--                    (twilio_account_sid, kind, phone_number) must stay global;
--     api_keys       every API request finds its key by the secret's digest before it
--                    knows the organization (a lookup on every shard otherwise), and the
--                    table is small and written once a minute per key at most.
--   Both reference tables that carry organization_id still get (id, organization_id) as
--   their key, so the foreign keys that point at them are composite like the others.
--   local to the coordinator: private.* (sessions, refresh and account tokens, pending
--   users, rate limits, the mail outbox, media deletions: the platform's, not a
--   tenant's), procrastinate.* (the job queue, woken by LISTEN/NOTIFY) and Supabase's
--   auth.*.
--
-- public.messages is left alone here: its key, its idempotency index and the foreign keys
-- that point at it are the partitioning migrations' (20261207002000_*), which give it
-- (id, organization_id, created_at). Only the foreign key from messages to conversations
-- is rebuilt below, because conversations' key changes under it. Everything that drops
-- and recreates foreign keys reads the catalogue, so this works with or without them.

-- 1. The foreign keys between tenant tables, except those pointing at messages: recorded
--    and dropped, since the keys they rest on are about to change.
create temporary table tenant_foreign_keys as
select k.conrelid, k.conname, k.confrelid, k.condeferrable, k.condeferred,
       k.confupdtype, k.confdeltype, k.confmatchtype,
       array(select a.attname from unnest(k.conkey) with ordinality as c(attnum, n)
             join pg_attribute as a on a.attrelid = k.conrelid and a.attnum = c.attnum
             order by c.n) as columns,
       array(select a.attname from unnest(k.confkey) with ordinality as c(attnum, n)
             join pg_attribute as a on a.attrelid = k.confrelid and a.attnum = c.attnum
             order by c.n) as referenced,
       array(select a.attname from unnest(k.confdelsetcols) as c(attnum)
             join pg_attribute as a on a.attrelid = k.conrelid and a.attnum = c.attnum)
           as set_null_columns
from pg_constraint as k
where k.contype = 'f'
  and k.conparentid = 0  -- a partition's copy goes with its parent's
  and k.connamespace = 'public'::regnamespace
  and k.confrelid <> 'public.messages'::regclass
  and exists (select from pg_attribute as a
              where a.attrelid = k.conrelid and a.attname = 'organization_id'
                and not a.attisdropped)
  and exists (select from pg_attribute as a
              where a.attrelid = k.confrelid and a.attname = 'organization_id'
                and not a.attisdropped);

do $$
declare
    fk record;
begin
    for fk in select * from tenant_foreign_keys loop
        execute format('alter table %s drop constraint %I', fk.conrelid::regclass, fk.conname);
    end loop;
end
$$;

-- 2. Primary keys: the columns they had, then organization_id (for most, (id,
--    organization_id)). The two unique (id, organization_id) that composite foreign keys
--    rested on become the primary keys themselves.
alter table public.channels drop constraint channels_id_organization_id_key;
alter table public.channel_templates drop constraint channel_templates_id_organization_key;

do $$
declare
    t record;
begin
    for t in
        select c.oid::regclass as name, k.conname,
               array(select format('%I', a.attname)
                     from unnest(k.conkey) with ordinality as u(attnum, n)
                     join pg_attribute as a on a.attrelid = c.oid and a.attnum = u.attnum
                     order by u.n) as columns
        from pg_class as c
        join pg_constraint as k on k.conrelid = c.oid and k.contype = 'p'
        join pg_attribute as o on o.attrelid = c.oid and o.attname = 'organization_id'
                                  and not o.attisdropped
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
          and not c.relispartition
          and c.oid <> 'public.messages'::regclass
          and not o.attnum = any (k.conkey)
    loop
        execute format('alter table %s drop constraint %I', t.name, t.conname);
        execute format('alter table %s add constraint %I primary key (%s, organization_id)',
                       t.name, t.conname, array_to_string(t.columns, ', '));
    end loop;
end
$$;

-- 3. Unique indexes: the same columns first, organization_id last, the same names (the
--    code recognises some of them in errors: conversations_active_channel_contact_key).
alter table public.broadcast_recipients
    drop constraint broadcast_recipients_message_key,
    add constraint broadcast_recipients_message_key unique (message_id, organization_id),
    drop constraint broadcast_recipients_position_key,
    add constraint broadcast_recipients_position_key
        unique (broadcast_id, position, organization_id);

alter table public.channel_templates
    drop constraint channel_templates_channel_name_language_key,
    add constraint channel_templates_channel_name_language_key
        unique (channel_id, name, language, organization_id);

alter table public.invitations
    drop constraint invitations_token_hash_key,
    -- Accepting an invitation finds it by its token's hash before it knows the
    -- organization: on Citus that one lookup asks every shard (it is rare). The hash of a
    -- random 32-byte token is unique without the organization.
    add constraint invitations_token_hash_key unique (token_hash, organization_id);

alter table public.knowledge_passages
    drop constraint knowledge_passages_document_position_key,
    add constraint knowledge_passages_document_position_key
        unique (document_id, position, organization_id);

drop index public.conversations_active_channel_contact_key;
create unique index conversations_active_channel_contact_key
    on public.conversations (channel_id, contact_id, organization_id)
    where status <> 'closed';
comment on index public.conversations_active_channel_contact_key is
    'At most one open conversation per channel and contact (organization_id last: a key of a table distributed by organization holds it; the channel decides it anyway).';

-- ON CONFLICT names its arbiter by its exact columns: the functions that upsert the open
-- conversation name the index's new ones. Patched in place from the catalogue rather
-- than copied here, so the ingest function keeps whatever the migrations before this one
-- made of it (the partitioning ones rewrite it).
do $$
declare
    f record;
    old_target constant text := 'on conflict (channel_id, contact_id) where status <> ''closed''';
    new_target constant text :=
        'on conflict (channel_id, contact_id, organization_id) where status <> ''closed''';
begin
    for f in
        select p.oid from pg_proc as p
        where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
          and p.prosrc like '%' || old_target || '%'
    loop
        execute replace(pg_get_functiondef(f.oid), old_target, new_target);
    end loop;
    if exists (select from pg_proc as p
               where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
                 and p.prosrc ~* 'on\s+conflict\s*\(\s*channel_id\s*,\s*contact_id\s*\)') then
        raise exception 'a function still names the open conversation by (channel_id, contact_id)';
    end if;
end
$$;

-- 4. The foreign keys again, with organization_id on both sides, under their old names
--    (the code recognises agents_follow_up_template_fkey).
do $$
declare
    fk record;
    columns name[];
    referenced name[];
    on_delete text;
begin
    for fk in select * from tenant_foreign_keys loop
        columns := fk.columns;
        referenced := fk.referenced;
        if not 'organization_id' = any (columns) then
            columns := columns || 'organization_id'::name;
            referenced := referenced || 'organization_id'::name;
        end if;
        on_delete := case fk.confdeltype
            when 'a' then 'no action'
            when 'r' then 'restrict'
            when 'c' then 'cascade'
            when 'd' then 'set default'
            -- Only the columns that were the key before, never organization_id.
            when 'n' then format('set null (%s)', (
                select string_agg(format('%I', c), ', ')
                from unnest(coalesce(nullif(fk.set_null_columns, '{}'), fk.columns)) as c
                where c <> 'organization_id'))
        end;
        execute format(
            'alter table %s add constraint %I foreign key (%s) references %s (%s)'
            ' match %s on update %s on delete %s %s',
            fk.conrelid::regclass, fk.conname,
            (select string_agg(format('%I', c), ', ') from unnest(columns) as c),
            fk.confrelid::regclass,
            (select string_agg(format('%I', c), ', ') from unnest(referenced) as c),
            case fk.confmatchtype when 'f' then 'full' else 'simple' end,
            case fk.confupdtype
                when 'a' then 'no action' when 'r' then 'restrict' when 'c' then 'cascade'
                when 'n' then 'set null' when 'd' then 'set default' end,
            on_delete,
            case when fk.condeferred then 'deferrable initially deferred'
                 when fk.condeferrable then 'deferrable' else '' end);
    end loop;
end
$$;

drop table tenant_foreign_keys;

comment on table public.channels is
    'A Twilio WhatsApp sender or SMS number of an organization. Sharded, a reference table (a copy on every node): ingest finds a channel by its number before it knows the organization, and a number belongs to one organization across all of them.';
comment on table public.api_keys is
    'Credentials for an organization''s own systems: each acts in its organization with its role, under the same row-level security as a member, until revoked. Sharded, a reference table (a copy on every node): a request finds its key by the secret''s digest before it knows the organization.';

-- 5. Who made a broadcast or a document: a member, so a profile (profiles mirror
--    auth.users, and go with their user). A distributed table may point at a reference
--    table but not at a table local to the coordinator, as Supabase's auth.users would be.
alter table public.broadcasts
    drop constraint broadcasts_created_by_fkey,
    add constraint broadcasts_created_by_fkey
        foreign key (created_by) references public.profiles (id) on delete set null;
alter table public.knowledge_documents
    drop constraint knowledge_documents_created_by_fkey,
    add constraint knowledge_documents_created_by_fkey
        foreign key (created_by) references public.profiles (id) on delete set null;
