-- The client roles behave as on Supabase where Atende made them itself (plain Postgres).
--
-- Supabase creates `anon`, `authenticated` and `service_role` INHERIT, and gives the two
-- roles a browser's key reaches statement timeouts (anon 3 s, authenticated 8 s) that
-- apply when a session starts as them (PostgREST's authenticator, Supavisor). The
-- compatibility migration made them NOINHERIT without timeouts; this aligns them, so a
-- grant that works here through role membership works there too, and the reverse.
--
-- Only where Supabase's own roles are absent: on Supabase nothing here runs, and its
-- roles are not ours to change. Atende's API sets its own statement timeout per
-- transaction (ATENDE_STATEMENT_TIMEOUT_MS), which `set role` does not override.

do $$
begin
    if exists (select from pg_roles where rolname = 'supabase_admin') then
        return;
    end if;
    alter role anon inherit;
    alter role authenticated inherit;
    alter role service_role inherit;
    alter role anon set statement_timeout = '3s';
    alter role authenticated set statement_timeout = '8s';
end
$$;
