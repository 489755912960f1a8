-- Make plain Postgres look like a Supabase project where Atende relies on it.
--
-- On Supabase every object below already exists (and belongs to Supabase's own roles),
-- so each one is created only when missing and nothing that exists is altered. The
-- definitions follow Supabase's own, so code and policies behave the same on both.

-- Roles ------------------------------------------------------------------------------

do $$
begin
    if not exists (select from pg_roles where rolname = 'anon') then
        create role anon nologin;
    end if;
    if not exists (select from pg_roles where rolname = 'authenticated') then
        create role authenticated nologin;
    end if;
    if not exists (select from pg_roles where rolname = 'service_role') then
        create role service_role nologin bypassrls;
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

-- The client roles behave as on Supabase where Supabase did not make them (plain
-- Postgres). Supabase creates `anon`, `authenticated` and `service_role` INHERIT, and
-- gives the two roles a browser's key reaches statement timeouts (anon 3 s,
-- authenticated 8 s) that apply when a session starts as them (PostgREST's
-- authenticator, Supavisor). So a grant that works here through role membership works
-- there too, and the reverse.
--
-- Only where Supabase's own roles are absent: on Supabase its roles are not ours to
-- change. Atende's API sets its own statement timeout per transaction
-- (ATENDE_STATEMENT_TIMEOUT_MS), which `set role` does not override.
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
        -- GoTrue's (Supabase Auth's) table, column for column, with its types, defaults,
        -- checks and indexes, so that queries written here run unchanged on Supabase and
        -- a database started on the embedded default can later move its users to Supabase
        -- Auth (docs/operations.md says how). GoTrue reads every column into non-null
        -- strings: a user whose confirmation_token, recovery_token, email_change_token_new
        -- or email_change is NULL cannot sign in there ("converting NULL to string is
        -- unsupported"). GoTrue leaves those four without a default and always writes '';
        -- the stand-in defaults to '' so that whoever writes a user here (the local
        -- provider, a test, an operator by hand) leaves one GoTrue can read.
        create table auth.users (
            instance_id uuid,
            id uuid not null primary key,
            aud varchar(255),
            role varchar(255),
            email varchar(255),
            encrypted_password varchar(255),
            email_confirmed_at timestamptz,
            invited_at timestamptz,
            confirmation_token varchar(255) default '',
            confirmation_sent_at timestamptz,
            recovery_token varchar(255) default '',
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
            is_anonymous boolean not null default false,
            email_change_token_new varchar(255) default '',
            email_change varchar(255) default '',
            email_change_sent_at timestamptz,
            phone_change text default '',
            phone_change_token varchar(255) default '',
            phone_change_sent_at timestamptz,
            confirmed_at timestamptz
                generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
            email_change_token_current varchar(255) default '',
            email_change_confirm_status smallint default 0
                constraint users_email_change_confirm_status_check
                    check (email_change_confirm_status >= 0 and email_change_confirm_status <= 2),
            reauthentication_token varchar(255) default '',
            reauthentication_sent_at timestamptz
        );
        comment on table auth.users is
            'Local stand-in for Supabase Auth''s users table (GoTrue''s columns, so users can move to Supabase Auth).';
        create index users_instance_id_email_idx on auth.users (instance_id, lower(email));
        -- GoTrue's indexes: tokens are unique unless they are empty or numeric (one-time
        -- codes), and lookups by instance.
        create unique index confirmation_token_idx on auth.users (confirmation_token)
            where confirmation_token !~ '^[0-9 ]*$';
        create unique index recovery_token_idx on auth.users (recovery_token)
            where recovery_token !~ '^[0-9 ]*$';
        create unique index email_change_token_new_idx
            on auth.users (email_change_token_new) where email_change_token_new !~ '^[0-9 ]*$';
        create unique index email_change_token_current_idx
            on auth.users (email_change_token_current)
            where email_change_token_current !~ '^[0-9 ]*$';
        create unique index reauthentication_token_idx
            on auth.users (reauthentication_token) where reauthentication_token !~ '^[0-9 ]*$';
        create index users_instance_id_idx on auth.users (instance_id);
        create index users_is_anonymous_idx on auth.users (is_anonymous);
        -- One user per e-mail: GoTrue keeps e-mails unique among non-SSO users (and stores
        -- them lowercased), so the local identity provider refuses a second user with an
        -- e-mail exactly as Supabase Auth does.
        create unique index users_email_partial_key on auth.users (email)
            where (is_sso_user = false);
        alter table auth.users enable row level security;
        -- The local identity provider manages users as the service role.
        grant select, insert, update, delete on table auth.users to service_role;

        -- GoTrue keeps one row per user and sign-in method, and signs in by that row; the
        -- local identity provider writes both tables as GoTrue does (sql/identity.sql).
        create table auth.identities (
            provider_id text not null,
            user_id uuid not null references auth.users (id) on delete cascade,
            identity_data jsonb not null,
            provider text not null,
            last_sign_in_at timestamptz,
            created_at timestamptz,
            updated_at timestamptz,
            email text generated always as (lower(identity_data ->> 'email')) stored,
            id uuid not null default gen_random_uuid() primary key,
            constraint identities_provider_id_provider_unique unique (provider_id, provider)
        );
        comment on table auth.identities is
            'Local stand-in for Supabase Auth''s identities: one row per user and sign-in method.';
        create index identities_email_idx on auth.identities (email text_pattern_ops);
        create index identities_user_id_idx on auth.identities (user_id);
        alter table auth.identities enable row level security;
        grant select, insert, update, delete on table auth.identities to service_role;
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
-- Functions: the last migration (function_grants) says who may execute each one.
alter default privileges in schema public grant all on tables to service_role;
alter default privileges in schema public grant all on sequences to service_role;
grant usage on schema public to anon, authenticated, service_role;
