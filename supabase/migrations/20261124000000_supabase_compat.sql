-- Make plain Postgres look like a Supabase project where Atende relies on it.
--
-- On Supabase every object below already exists (and belongs to Supabase's own roles),
-- so each one is created only when missing and nothing that exists is altered. The
-- definitions follow Supabase's own, so code and policies behave the same on both.

-- Roles ------------------------------------------------------------------------------

do $$
begin
    if not exists (select from pg_roles where rolname = 'anon') then
        create role anon nologin noinherit;
    end if;
    if not exists (select from pg_roles where rolname = 'authenticated') then
        create role authenticated nologin noinherit;
    end if;
    if not exists (select from pg_roles where rolname = 'service_role') then
        create role service_role nologin noinherit bypassrls;
    end if;
    -- The connecting role switches to these per transaction (`set local role`), as
    -- PostgREST's authenticator does; Supabase's `postgres` role already may.
    if not pg_has_role(current_user, 'anon', 'member') then
        execute format('grant anon to %I', current_user);
    end if;
    if not pg_has_role(current_user, 'authenticated', 'member') then
        execute format('grant authenticated to %I', current_user);
    end if;
    if not pg_has_role(current_user, 'service_role', 'member') then
        execute format('grant service_role to %I', current_user);
    end if;
end
$$;

-- Extensions --------------------------------------------------------------------------

do $$
begin
    if not exists (select from pg_namespace where nspname = 'extensions') then
        create schema extensions;
        grant usage on schema extensions to anon, authenticated, service_role;
    end if;
    if not exists (select from pg_extension where extname = 'pgcrypto') then
        create extension pgcrypto with schema extensions;
    end if;
end
$$;

-- auth schema: the tables and functions of Supabase Auth that Atende reads -----------

do $$
begin
    if not exists (select from pg_namespace where nspname = 'auth') then
        create schema auth;
        grant usage on schema auth to anon, authenticated, service_role;
    end if;

    if to_regclass('auth.users') is null then
        -- The columns of Supabase Auth's table that matter to Atende, with the same
        -- names and types, so queries written here run unchanged on Supabase.
        create table auth.users (
            instance_id uuid,
            id uuid not null primary key,
            aud varchar(255),
            role varchar(255),
            email varchar(255),
            encrypted_password varchar(255),
            email_confirmed_at timestamptz,
            invited_at timestamptz,
            confirmation_token varchar(255),
            confirmation_sent_at timestamptz,
            recovery_token varchar(255),
            recovery_sent_at timestamptz,
            last_sign_in_at timestamptz,
            raw_app_meta_data jsonb,
            raw_user_meta_data jsonb,
            is_super_admin boolean,
            created_at timestamptz,
            updated_at timestamptz,
            phone text unique default null,
            phone_confirmed_at timestamptz,
            banned_until timestamptz,
            deleted_at timestamptz,
            is_sso_user boolean not null default false,
            is_anonymous boolean not null default false
        );
        comment on table auth.users is
            'Local stand-in for Supabase Auth''s users table (same columns Atende uses).';
        create index users_instance_id_email_idx on auth.users (instance_id, lower(email));
        -- The local identity provider manages users as the service role.
        grant select, insert, update, delete on table auth.users to service_role;
    end if;

    if not exists (
        select from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'auth' and p.proname = 'uid'
    ) then
        create function auth.uid() returns uuid
            language sql stable
        as $fn$
            select coalesce(
                nullif(current_setting('request.jwt.claim.sub', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
            )::uuid
        $fn$;
        comment on function auth.uid() is 'Deprecated. Use auth.jwt() -> ''sub'' instead.';
    end if;

    if not exists (
        select from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'auth' and p.proname = 'role'
    ) then
        create function auth.role() returns text
            language sql stable
        as $fn$
            select coalesce(
                nullif(current_setting('request.jwt.claim.role', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
            )::text
        $fn$;
        comment on function auth.role() is 'Deprecated. Use auth.jwt() -> ''role'' instead.';
    end if;

    if not exists (
        select from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'auth' and p.proname = 'email'
    ) then
        create function auth.email() returns text
            language sql stable
        as $fn$
            select coalesce(
                nullif(current_setting('request.jwt.claim.email', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
            )::text
        $fn$;
        comment on function auth.email() is 'Deprecated. Use auth.jwt() -> ''email'' instead.';
    end if;

    if not exists (
        select from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'auth' and p.proname = 'jwt'
    ) then
        create function auth.jwt() returns jsonb
            language sql stable
        as $fn$
            select coalesce(
                nullif(current_setting('request.jwt.claim', true), ''),
                nullif(current_setting('request.jwt.claims', true), '')
            )::jsonb
        $fn$;
    end if;
end
$$;

-- Tables created from here on by this role are usable by the service role, as on
-- Supabase; `anon` and `authenticated` get only the grants each migration spells out.
alter default privileges in schema public grant all on tables to service_role;
alter default privileges in schema public grant all on sequences to service_role;
alter default privileges in schema public grant execute on functions to service_role;
alter default privileges in schema public revoke execute on functions from public;
grant usage on schema public to anon, authenticated, service_role;
