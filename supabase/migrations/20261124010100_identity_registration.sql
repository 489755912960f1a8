-- Registration and invitations create users in an identity provider (Supabase Auth, or the
-- local auth.users), which cannot share the database transaction. The flow is a saga:
--
--   1. reserve_user_v1 (committed): claims the e-mail and records the id the provider is
--      about to be asked to create. This is the write-ahead record of the step that
--      cannot be rolled back.
--   2. the provider creates the user with that id.
--   3. register_organization_v1 (or invite_member_v1) creates the profile, the
--      organization and its owner membership in one transaction and deletes the record.
--
-- When step 2 or 3 fails, the service deletes the provider's user and then the record
-- (release_pending_user_v1). When the provider's answer never came (a timeout), a create
-- may still land after the delete: the record is then only marked abandoned, which frees
-- the e-mail, and the upkeep job deletes the user once more a little later. When even the
-- delete fails (the process dies, the provider is down), the record outlives its flow and
-- the upkeep job deletes the user later (abandoned_pending_users_v1): no user survives
-- without the rows made for it.

-- Users the identity provider is creating ---------------------------------------------

create table private.pending_users (
    user_id uuid primary key default gen_random_uuid(),
    email text not null,
    purpose text not null,
    created_at timestamptz not null default now(),
    -- Set when the flow gave up but the provider may still create the user.
    abandoned_at timestamptz,
    constraint pending_users_purpose check (purpose in ('registration', 'invitation')),
    constraint pending_users_email_lowercase check (email = lower(email))
);

comment on table private.pending_users is
    'Users being created in the identity provider whose database rows are not committed yet.';

-- Two sign-ups with one e-mail cannot both be in flight.
create unique index pending_users_email_key on private.pending_users (email)
    where abandoned_at is null;
-- The upkeep job looks for old records.
create index pending_users_created_at_idx on private.pending_users (created_at);

alter table private.pending_users enable row level security;
revoke all on table private.pending_users from public, anon, authenticated;
grant select, insert, update, delete on table private.pending_users to service_role;

-- Local auth.users: one user per e-mail ------------------------------------------------

-- Supabase Auth's table has this index (it keeps e-mails unique among non-SSO users, and
-- Supabase Auth stores them lowercased). The local stand-in created by
-- 20261124000000_supabase_compat.sql gets the same one, so the local identity provider
-- refuses a second user with an e-mail exactly as Supabase Auth does. Any other auth.users
-- (Supabase's own) is left alone.
do $$
begin
    if obj_description('auth.users'::regclass, 'pg_class') like 'Local stand-in for Supabase Auth%'
        and not exists (
            select from pg_indexes
            where schemaname = 'auth' and tablename = 'users'
              and indexname = 'users_email_partial_key'
        ) then
        create unique index users_email_partial_key on auth.users (email)
            where (is_sso_user = false);
    end if;
end
$$;

-- Validation shared by the functions below ------------------------------------------

-- The e-mail, trimmed and lowercased (as Supabase Auth stores it), or 22023 naming the
-- parameter when it is not an address.
create function private.normalize_email(email text, parameter text default 'email')
    returns text
    language plpgsql
    immutable
    set search_path = pg_catalog
as $$
declare
    normalized text := lower(btrim(coalesce(email, '')));
begin
    if char_length(normalized) > 254 or normalized !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' then
        raise exception using
            errcode = 'invalid_parameter_value',
            message = 'not an e-mail address',
            column = parameter;
    end if;
    return normalized;
end;
$$;

comment on function private.normalize_email is
    'Trims and lowercases an e-mail address; 22023 (COLUMN = parameter) when it is not one.';

-- The text, trimmed, or 22023 naming the parameter when it is empty or too long.
create function private.require_text(value text, parameter text, max_length integer)
    returns text
    language plpgsql
    immutable
    set search_path = pg_catalog
as $$
declare
    trimmed text := btrim(coalesce(value, ''));
begin
    if trimmed = '' then
        raise exception using
            errcode = 'invalid_parameter_value', message = 'must not be empty', column = parameter;
    end if;
    if char_length(trimmed) > max_length then
        raise exception using
            errcode = 'invalid_parameter_value',
            message = format('must be at most %s characters', max_length),
            column = parameter;
    end if;
    return trimmed;
end;
$$;

revoke all on function private.normalize_email from public;
revoke all on function private.require_text from public;
grant execute on function private.normalize_email to service_role;
grant execute on function private.require_text to service_role;

-- Step 1: reserve --------------------------------------------------------------------

create function private.reserve_user_v1(email text, purpose text)
    returns uuid
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    normalized text := private.normalize_email(email);
    reserved uuid;
begin
    if exists (select from public.profiles as p where lower(p.email) = normalized) then
        raise exception using
            errcode = 'unique_violation',
            message = 'e-mail already registered',
            constraint = 'profiles_email_key';
    end if;
    -- A concurrent reservation of the same e-mail fails on pending_users_email_key.
    insert into private.pending_users (email, purpose)
    values (normalized, reserve_user_v1.purpose)
    returning user_id into reserved;
    return reserved;
end;
$$;

comment on function private.reserve_user_v1 is
    'Claims an e-mail for a user about to be created in the identity provider; returns its id.';

-- Step 3: the organization and its owner -------------------------------------------

create function private.register_organization_v1(
    user_id uuid,
    organization_name text,
    full_name text
)
    returns public.organizations
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    pending private.pending_users;
    organization public.organizations;
begin
    select * into pending from private.pending_users as p
    where p.user_id = register_organization_v1.user_id
      and p.purpose = 'registration'
      and p.abandoned_at is null
    for update;
    if not found then
        raise sqlstate 'PT404' using message = 'no registration is pending for this user';
    end if;

    insert into public.profiles (id, email, full_name)
    values (
        pending.user_id,
        pending.email,
        private.require_text(register_organization_v1.full_name, 'full_name', 200)
    );

    insert into public.organizations (name)
    values (
        private.require_text(register_organization_v1.organization_name, 'organization_name', 120)
    )
    returning * into organization;

    insert into public.memberships (organization_id, user_id, role)
    values (organization.id, pending.user_id, 'owner');

    delete from private.pending_users as p where p.user_id = pending.user_id;
    return organization;
end;
$$;

comment on function private.register_organization_v1 is
    'Creates the profile, the organization and its owner membership for a reserved user.';

-- Compensation and upkeep ----------------------------------------------------------------

create function private.release_pending_user_v1(user_id uuid, abandon boolean default false)
    returns boolean
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
begin
    if abandon then
        update private.pending_users as p set abandoned_at = coalesce(p.abandoned_at, now())
        where p.user_id = release_pending_user_v1.user_id;
    else
        delete from private.pending_users as p where p.user_id = release_pending_user_v1.user_id;
    end if;
    return found;
end;
$$;

comment on function private.release_pending_user_v1 is
    'Forgets a reservation once its user is gone; with abandon, frees the e-mail but keeps '
    'the record for the upkeep job to delete the user once more.';

create function private.abandoned_pending_users_v1(in_flight_for interval, abandoned_for interval)
    returns setof private.pending_users
    language sql
    stable
    security definer
    set search_path = pg_catalog
as $$
    select * from private.pending_users
    where created_at < now() - in_flight_for
       or abandoned_at < now() - abandoned_for
    order by created_at
    limit 100
$$;

comment on function private.abandoned_pending_users_v1 is
    'Reservations whose flow died or gave up (for the upkeep job): in flight for longer than '
    'any flow takes, or abandoned for longer than a late provider answer could take.';

revoke all on function private.reserve_user_v1 from public;
revoke all on function private.register_organization_v1 from public;
revoke all on function private.release_pending_user_v1 from public;
revoke all on function private.abandoned_pending_users_v1 from public;
grant execute on function private.reserve_user_v1 to service_role;
grant execute on function private.register_organization_v1 to service_role;
grant execute on function private.release_pending_user_v1 to service_role;
grant execute on function private.abandoned_pending_users_v1 to service_role;
