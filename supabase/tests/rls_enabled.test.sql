-- Every table a client can reach has row-level security on, and no role but the service
-- role can reach the queue or the private helpers.
begin;
select plan(3);

select is_empty(
    $$
    select c.relname::text
    from pg_class as c
    join pg_namespace as n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity
    $$,
    'every table in public has row-level security enabled'
);

select ok(
    not has_schema_privilege('authenticated', 'procrastinate', 'usage')
        and not has_schema_privilege('anon', 'procrastinate', 'usage'),
    'the job queue schema is out of reach of anon and authenticated'
);

select ok(
    not has_function_privilege('authenticated', 'private.defer_job(text, jsonb, text, text, text, timestamptz, boolean)', 'execute')
        and not has_function_privilege('anon', 'private.publish_event(uuid, text, jsonb)', 'execute'),
    'clients cannot defer jobs or publish events directly'
);

select * from finish();
rollback;
