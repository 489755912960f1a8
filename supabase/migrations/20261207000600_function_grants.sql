-- Who may call Atende's functions: written out here, whatever the database's defaults.
--
-- A new Supabase project's initial schema sets default privileges so that every function,
-- table and sequence `postgres` creates in `public` is granted to `anon`, `authenticated`
-- and `service_role` directly. `revoke ... from public` does not remove such grants, and
-- PostgREST serves every function in `public` at /rest/v1/rpc/<name> to anyone holding
-- the anon key, which is public by design. On plain Postgres the same grants never exist,
-- so each environment needs the same explicit answer:
--
-- 1. the functions only the platform calls (webhooks, sending, jobs) live in `private`,
--    which PostgREST does not expose and `anon` cannot even look into; `public` holds
--    only what a signed-in member calls;
-- 2. every function of Atende's own schemas is revoked from everyone but its owner;
-- 3. each role gets back exactly what it calls (supabase/tests/function_grants.test.sql
--    lists, from the catalogue, what `anon` and `authenticated` can execute, and fails on
--    anything not reviewed there);
-- 4. what Atende creates in `public` from here on gets no grant from Supabase's defaults.
--
-- The migrations before this one grant no function: this is the one place that does.

-- 2. Nobody but the owner, to start with; 3. the platform ------------------------------

-- service_role is the platform itself (webhooks, jobs; on Supabase, the secret service
-- key): it may call any of Atende's functions but the trigger functions, which Postgres
-- runs as triggers only. The queue's functions stay the owner's: the worker connects as
-- the owner and nothing else touches the queue directly.
do $$
declare
    fn record;
begin
    for fn in
        select p.oid::regprocedure as signature,
               n.nspname <> 'procrastinate' and p.prorettype <> 'trigger'::regtype
                   as for_the_platform
        from pg_proc as p
        join pg_namespace as n on n.oid = p.pronamespace
        where n.nspname in ('public', 'private', 'procrastinate')
          -- Functions of extensions installed there belong to the extension.
          and not exists (
              select from pg_depend as d
              where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'
          )
    loop
        execute format('revoke all on function %s from public, anon, authenticated, service_role',
                       fn.signature);
        if fn.for_the_platform then
            execute format('grant execute on function %s to service_role', fn.signature);
        end if;
    end loop;
end
$$;

-- 3. What the client roles call ----------------------------------------------------------

-- authenticated (a signed-in team member, under row-level security). Each one checks the
-- caller itself or only computes:
-- row-level security's membership lookups,
grant execute on function private.organizations_of_caller() to authenticated;
grant execute on function private.organizations_where_caller_is(public.membership_role[])
    to authenticated;
-- the check constraint of channel_templates.variables,
grant execute on function private.template_variables_are_valid(jsonb) to authenticated;
-- the 24-hour window the inbox shows,
grant execute on function private.window_end(public.channel_kind, timestamptz) to authenticated;
grant execute on function public.window_expires_at(public.conversations) to authenticated;
-- and the team's actions, each of which checks the caller's membership and role.
grant execute on function public.invite_member_v1(uuid, text, public.membership_role, text, uuid, interval)
    to authenticated;
grant execute on function public.remove_member_v1(uuid, uuid) to authenticated;
grant execute on function public.update_member_role_v1(uuid, uuid, public.membership_role)
    to authenticated;
grant execute on function public.send_member_message_v1(uuid, text) to authenticated;
grant execute on function public.send_template_message_v1(uuid, uuid, jsonb) to authenticated;

-- anon (a request without a token) calls none of Atende's functions: what an anonymous
-- caller may do (register, sign in) runs as the platform, behind the API's own checks.

-- 4. Nothing created in public from now on is granted by default ----------------------

-- On Supabase these undo the initial schema's defaults for `postgres` in `public`; on
-- plain Postgres they only confirm what is already so. Postgres' own default, EXECUTE
-- for PUBLIC on every new function, stays: it can only be revoked for every schema at
-- once, extensions' functions included (pgvector's operators, say, which clients must
-- call). So each new function still revokes PUBLIC itself, and the pgTAP test above
-- fails when one does not.
alter default privileges in schema public revoke all on functions from anon, authenticated, service_role;
alter default privileges in schema public revoke all on tables from anon, authenticated;
alter default privileges in schema public revoke all on sequences from anon, authenticated;
