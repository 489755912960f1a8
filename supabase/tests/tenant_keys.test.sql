-- Every tenant table is keyed by organization (docs/scaling.md): it carries a not-null
-- organization_id that references public.organizations, so a distributed Postgres can
-- place its rows by organization. The only tables without one are declared below, with
-- the reason; a new table must either carry organization_id or join this list.
begin;
select plan(2);

create temporary table reference_tables (name text primary key, reason text not null);
insert into reference_tables values
    ('organizations', 'the tenants themselves: the distribution key is their id'),
    ('profiles', 'a person may belong to several organizations: replicated to every node');

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

select * from finish();
rollback;
