-- The client roles have Supabase's attributes in both environments: on Supabase they are
-- its own, on plain Postgres Atende makes them so (20261124000000_supabase_compat.sql).
begin;
select plan(3);

select results_eq(
    $$
    select rolname::text collate "default", rolinherit, rolcanlogin, rolbypassrls
    from pg_roles
    where rolname in ('anon', 'authenticated', 'service_role')
    order by 1
    $$,
    $$ values ('anon', true, false, false),
              ('authenticated', true, false, false),
              ('service_role', true, false, true) $$,
    'anon, authenticated and service_role: INHERIT, NOLOGIN, only the service role bypasses RLS'
);

select is(
    (select array_agg(setting order by setting)
     from pg_db_role_setting as s
     cross join unnest(s.setconfig) as setting
     where s.setrole = 'anon'::regrole and s.setdatabase = 0 and setting like 'statement_timeout=%'),
    array['statement_timeout=3s'],
    'anon''s statement timeout is 3 s'
);

select is(
    (select array_agg(setting order by setting)
     from pg_db_role_setting as s
     cross join unnest(s.setconfig) as setting
     where s.setrole = 'authenticated'::regrole and s.setdatabase = 0
       and setting like 'statement_timeout=%'),
    array['statement_timeout=8s'],
    'authenticated''s statement timeout is 8 s'
);

select * from finish();
rollback;
