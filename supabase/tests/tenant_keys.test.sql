-- Every tenant table is keyed by organization (docs/scaling.md, step 3): it carries a
-- not-null organization_id that references public.organizations, its primary key and
-- unique indexes hold organization_id, and its foreign keys to other tenant tables join
-- on it, so that a Postgres sharded by organization (Citus) keeps each check on one node.
-- Migration 20261207002100_tenant_keys made them so; a new table must follow, or join
-- one of the lists below with its reason.
begin;
select plan(7);

-- Reference tables: one copy on every node, not sharded by organization.
create temporary table reference_tables (name text primary key, reason text not null);
insert into reference_tables values
    ('organizations', 'the tenants themselves: the distribution key is their id'),
    ('profiles', 'a person may belong to several organizations: replicated to every node'),
    ('channels', 'ingest finds a channel by its Twilio account and number before it knows '
                 'the organization, and one number belongs to one organization across all '
                 'of them: the unique (twilio_account_sid, kind, phone_number) stays global'),
    ('api_keys', 'every API request finds its key by the secret''s digest before it knows '
                 'the organization (on every shard otherwise); few rows, written once a '
                 'minute per key at most');

-- Local to the coordinator: the platform's tables, not a tenant's.
create temporary table local_tables (name text primary key, reason text not null);
insert into local_tables values
    ('private.account_tokens', 'e-mail verification and password reset tokens of a person'),
    ('private.mail_outbox', 'mails waiting for the mail job, to people'),
    ('private.media_deletions', 'stored files to delete, a queue of the media job'),
    ('private.message_broadcast_recipients',
     'the judge of one message per broadcast and contact across partitions of messages, '
     'keyed by the broadcast recipient alone'),
    ('private.message_sids', 'the webhook idempotency judge: a Twilio sid exists once '
                             'across all organizations, and a status callback finds its '
                             'message by the sid alone'),
    ('private.pending_users', 'people who have not finished signing up: no organization yet'),
    ('private.rate_limit_counters', 'rate limits by address, person or key, across tenants'),
    ('private.refresh_tokens', 'sessions'' refresh tokens, of a person'),
    ('private.sessions', 'a person''s sign-ins, across organizations'),
    ('procrastinate.*', 'the job queue: its workers are woken by LISTEN/NOTIFY on the '
                        'coordinator, and a job names its organization in its arguments');

-- The tables sharded by organization: public's, but the reference tables.
create temporary view tenant_tables as
select c.oid, c.relname::text as name,
       (select a.attnum from pg_attribute as a
        where a.attrelid = c.oid and a.attname = 'organization_id' and not a.attisdropped)
           as organization_attnum
from pg_class as c
where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
  and not c.relispartition
  and c.relname not in (select name from reference_tables);

select is_empty(
    $$
    select c.relname::text
    from pg_class as c
    join pg_namespace as n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
      and c.relname not in (select name from reference_tables)
      and not exists (
          select from pg_attribute as a
          where a.attrelid = c.oid and a.attname = 'organization_id'
            and a.attnotnull and not a.attisdropped
      )
    $$,
    'every table in public but the reference tables has a not-null organization_id'
);

select is_empty(
    $$
    select c.relname::text
    from pg_class as c
    join pg_namespace as n on n.oid = c.relnamespace
    join pg_attribute as a on a.attrelid = c.oid and a.attname = 'organization_id'
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
      and not exists (
          select from pg_constraint as k
          where k.conrelid = c.oid and k.contype = 'f'
            and k.confrelid = 'public.organizations'::regclass
            and k.conkey = array[a.attnum]
      )
      -- Keyed through a parent that is: the organization comes with it.
      and not exists (
          select from pg_constraint as k
          where k.conrelid = c.oid and k.contype = 'f' and a.attnum = any (k.conkey)
      )
    $$,
    'every organization_id references an organization, directly or with its parent row'
);

-- (a) A shard can check a key only when the key holds the distribution column.
select is_empty(
    $$
    select t.name || ': ' || i.indexrelid::regclass::text
    from tenant_tables as t
    join pg_index as i on i.indrelid = t.oid
    where (i.indisunique or i.indisprimary)
      and not t.organization_attnum = any (i.indkey::int2[])
    $$,
    'every primary key and unique index of a tenant table includes organization_id'
);

-- Reference tables that carry organization_id key by it too: the foreign keys pointing
-- at them are composite like the others.
select is_empty(
    $$
    select c.relname::text
    from pg_class as c
    join pg_attribute as a on a.attrelid = c.oid and a.attname = 'organization_id'
                              and not a.attisdropped
    join pg_index as i on i.indrelid = c.oid and i.indisprimary
    where c.relnamespace = 'public'::regnamespace and not c.relispartition
      and not a.attnum = any (i.indkey::int2[])
    $$,
    'every primary key of a table with an organization_id includes it'
);

-- (b) organization_id on both sides, paired: the referenced row is of the same
-- organization, and the check stays on its shard.
select is_empty(
    $$
    select k.conrelid::regclass::text || ': ' || k.conname
    from pg_constraint as k
    join pg_attribute as f on f.attrelid = k.conrelid and f.attname = 'organization_id'
                              and not f.attisdropped
    join pg_attribute as r on r.attrelid = k.confrelid and r.attname = 'organization_id'
                              and not r.attisdropped
    where k.contype = 'f' and k.conparentid = 0
      and k.connamespace = 'public'::regnamespace
      and not exists (
          select from generate_subscripts(k.conkey, 1) as s
          where k.conkey[s] = f.attnum and k.confkey[s] = r.attnum
      )
    $$,
    'every foreign key between tables with an organization_id pairs organization_id with organization_id'
);

-- A sharded table may point at a reference table, not at one local to the coordinator.
select is_empty(
    $$
    select k.conrelid::regclass::text || ': ' || k.conname || ' -> '
           || k.confrelid::regclass::text
    from pg_constraint as k
    join tenant_tables as t on t.oid = k.conrelid
    where k.contype = 'f'
      and k.confrelid not in (
          select c.oid from pg_class as c
          where c.relnamespace = 'public'::regnamespace
      )
    $$,
    'every foreign key of a tenant table points at a table in public'
);

-- (c) Every table outside public that Atende owns is declared local, with its reason.
select set_eq(
    $$
    select n.nspname || '.' || c.relname
    from pg_class as c
    join pg_namespace as n on n.oid = c.relnamespace
    where n.nspname = 'private' and c.relkind in ('r', 'p') and not c.relispartition
    union all
    select 'procrastinate.*'
    $$,
    $$ select name from local_tables $$,
    'the tables outside public are the declared local tables'
);

select * from finish();
rollback;
