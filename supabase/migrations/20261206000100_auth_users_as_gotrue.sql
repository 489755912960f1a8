-- The local stand-in for Supabase Auth's tables takes GoTrue's exact shape, so that a
-- database started on the embedded default can later move its users to Supabase Auth.
--
-- GoTrue (Supabase Auth) reads every column of auth.users into non-null strings: a user
-- whose confirmation_token, recovery_token, email_change_token_new or email_change is
-- NULL cannot sign in there ("converting NULL to string is unsupported"). It also keeps
-- one auth.identities row per user and sign-in method, and signs in by that row. Here the
-- stand-in gains GoTrue's missing columns (35 in all, with its types, defaults and
-- checks), its indexes, and auth.identities; the local identity provider writes both as
-- GoTrue does (sql/identity.sql), and users made before this migration are brought in
-- line. docs/operations.md says how to move the users.
--
-- On Supabase these tables are GoTrue's own and nothing here runs.

do $$
begin
    if coalesce(obj_description('auth.users'::regclass, 'pg_class'), '')
        not like 'Local stand-in for Supabase Auth%' then
        return;
    end if;

    alter table auth.users
        add column if not exists email_change_token_new varchar(255),
        add column if not exists email_change varchar(255),
        add column if not exists email_change_sent_at timestamptz,
        add column if not exists phone_change text default '',
        add column if not exists phone_change_token varchar(255) default '',
        add column if not exists phone_change_sent_at timestamptz,
        add column if not exists confirmed_at timestamptz
            generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
        add column if not exists email_change_token_current varchar(255) default '',
        add column if not exists email_change_confirm_status smallint default 0
            constraint users_email_change_confirm_status_check
                check (email_change_confirm_status >= 0 and email_change_confirm_status <= 2),
        add column if not exists reauthentication_token varchar(255) default '',
        add column if not exists reauthentication_sent_at timestamptz;

    -- GoTrue leaves these without a default and always writes ''. The stand-in defaults
    -- to '' so that whoever writes a user here (the local provider, a test, an operator
    -- by hand) leaves one GoTrue can read.
    alter table auth.users
        alter column confirmation_token set default '',
        alter column recovery_token set default '',
        alter column email_change_token_new set default '',
        alter column email_change set default '';
    update auth.users
    set confirmation_token = coalesce(confirmation_token, ''),
        recovery_token = coalesce(recovery_token, ''),
        email_change_token_new = coalesce(email_change_token_new, ''),
        email_change = coalesce(email_change, '')
    where confirmation_token is null
       or recovery_token is null
       or email_change_token_new is null
       or email_change is null;

    comment on table auth.users is
        'Local stand-in for Supabase Auth''s users table (GoTrue''s columns, so users can move to Supabase Auth).';

    -- GoTrue's indexes: tokens are unique unless they are empty or numeric (one-time
    -- codes), and lookups by instance.
    create unique index if not exists confirmation_token_idx on auth.users (confirmation_token)
        where confirmation_token !~ '^[0-9 ]*$';
    create unique index if not exists recovery_token_idx on auth.users (recovery_token)
        where recovery_token !~ '^[0-9 ]*$';
    create unique index if not exists email_change_token_new_idx
        on auth.users (email_change_token_new) where email_change_token_new !~ '^[0-9 ]*$';
    create unique index if not exists email_change_token_current_idx
        on auth.users (email_change_token_current)
        where email_change_token_current !~ '^[0-9 ]*$';
    create unique index if not exists reauthentication_token_idx
        on auth.users (reauthentication_token) where reauthentication_token !~ '^[0-9 ]*$';
    create index if not exists users_instance_id_idx on auth.users (instance_id);
    create index if not exists users_is_anonymous_idx on auth.users (is_anonymous);
    alter table auth.users enable row level security;

    if to_regclass('auth.identities') is null then
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
        -- The local identity provider manages users as the service role.
        grant select, insert, update, delete on table auth.identities to service_role;
    end if;

    -- An e-mail identity for every user made before, as GoTrue would have made it.
    insert into auth.identities (provider_id, user_id, identity_data, provider, created_at,
                                 updated_at)
    select u.id::text, u.id,
           jsonb_build_object('sub', u.id::text, 'email', u.email,
                              'email_verified', u.email_confirmed_at is not null,
                              'phone_verified', false),
           'email', u.created_at, u.updated_at
    from auth.users as u
    where u.email is not null
    on conflict (provider_id, provider) do nothing;
end
$$;
