-- Identity: organizations, the people in them (profiles) and their roles (memberships);
-- below, in this order, who may change whom, registration, sessions and invitations.
--
-- Every other table hangs off an organization, and every policy asks the same question:
-- "is the caller a member of this row's organization?" The answer comes from the
-- security definer helpers after the tables, so policies stay short and use the index on
-- memberships(user_id).

-- Organizations -----------------------------------------------------------------------

create table public.organizations (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint organizations_name_length check (char_length(btrim(name)) between 1 and 120)
);

comment on table public.organizations is 'A business using Atende: the tenant every row belongs to.';

create trigger tg_organizations__set_updated_at
    before update on public.organizations
    for each row execute function private.tg__set_updated_at();

-- Profiles ----------------------------------------------------------------------------

create table public.profiles (
    id uuid primary key references auth.users (id) on delete cascade,
    email text not null,
    full_name text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint profiles_full_name_length check (char_length(btrim(full_name)) between 1 and 200),
    constraint profiles_email_format check (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$')
);

comment on table public.profiles is 'One row per auth.users row: what the team sees of a person.';

-- The one place where "a user's email is unique, whatever its case" is enforced.
create unique index profiles_email_key on public.profiles (lower(email));

create trigger tg_profiles__set_updated_at
    before update on public.profiles
    for each row execute function private.tg__set_updated_at();

-- Memberships -------------------------------------------------------------------------

create type public.membership_role as enum ('owner', 'admin', 'agent');

comment on type public.membership_role is
    'owner: everything, including other owners; admin: manages members and settings but '
    'cannot demote or remove an owner; agent: works conversations.';

create table public.memberships (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    user_id uuid not null references public.profiles (id) on delete cascade,
    role public.membership_role not null default 'agent',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint memberships_organization_user_key unique (organization_id, user_id)
);

comment on table public.memberships is 'Who belongs to which organization, and with what role.';

-- Policies filter by user_id; the unique constraint already indexes organization_id.
create index memberships_user_id_idx on public.memberships (user_id);

create trigger tg_memberships__set_updated_at
    before update on public.memberships
    for each row execute function private.tg__set_updated_at();

-- An organization always has at least one owner. Checked at commit (deferred), so a
-- transaction may create an organization and then its owner, or swap owners, and the
-- cascade of a hard-deleted organization is not mistaken for losing its last owner.
--
-- The check and its trigger functions are volatile, not stable: a stable function reads
-- with the snapshot of the statement that called it, so when the constraint triggers fire
-- immediately (`set constraints all immediate`, which any transaction may run) the check
-- would still see the owner that was just deleted or demoted and let the organization
-- lose its last owner. Volatile functions take a fresh snapshot per query and see the
-- change in both modes.
create function private.assert_organization_has_owner(organization uuid) returns void
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
begin
    if exists (select from public.organizations where id = organization)
        and not exists (
            select from public.memberships
            where organization_id = organization and role = 'owner'
        ) then
        raise exception 'an organization must keep at least one owner'
            using errcode = 'check_violation', constraint = 'organizations_need_an_owner';
    end if;
end;
$$;

create function private.tg_memberships__keep_an_owner() returns trigger
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
begin
    if tg_op = 'UPDATE' and old.organization_id is distinct from new.organization_id then
        raise exception 'a membership cannot move to another organization'
            using errcode = 'check_violation';
    end if;
    perform private.assert_organization_has_owner(old.organization_id);
    return null;
end;
$$;

create function private.tg_organizations__need_an_owner() returns trigger
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
begin
    perform private.assert_organization_has_owner(new.id);
    return null;
end;
$$;

create constraint trigger tg_memberships__keep_an_owner
    after update or delete on public.memberships
    deferrable initially deferred
    for each row execute function private.tg_memberships__keep_an_owner();

create constraint trigger tg_organizations__need_an_owner
    after insert on public.organizations
    deferrable initially deferred
    for each row execute function private.tg_organizations__need_an_owner();

-- Membership helpers for policies -----------------------------------------------------

create function private.organizations_of_caller() returns setof uuid
    language sql
    stable
    security definer
    set search_path = pg_catalog
as $$
    select organization_id from public.memberships where user_id = (select auth.uid())
$$;

comment on function private.organizations_of_caller is
    'The organizations the calling user belongs to (for policies: organization_id in (select ...)).';

create function private.organizations_where_caller_is(roles public.membership_role[])
    returns setof uuid
    language sql
    stable
    security definer
    set search_path = pg_catalog
as $$
    select organization_id from public.memberships
    where user_id = (select auth.uid()) and role = any (roles)
$$;

comment on function private.organizations_where_caller_is is
    'The organizations where the calling user holds one of these roles.';

-- Row-level security ------------------------------------------------------------------

alter table public.organizations enable row level security;
alter table public.profiles enable row level security;
alter table public.memberships enable row level security;

create policy "Members can read their organizations"
    on public.organizations for select to authenticated
    using (id in (select private.organizations_of_caller()));

create policy "Owners and admins can rename their organizations"
    on public.organizations for update to authenticated
    using (id in (select private.organizations_where_caller_is('{owner,admin}')))
    with check (id in (select private.organizations_where_caller_is('{owner,admin}')));

create policy "Users can read their own profile"
    on public.profiles for select to authenticated
    using (id = (select auth.uid()));

create policy "Members can read the profiles of their teammates"
    on public.profiles for select to authenticated
    using (
        id in (
            select user_id from public.memberships
            where organization_id in (select private.organizations_of_caller())
        )
    );

create policy "Users can update their own profile"
    on public.profiles for update to authenticated
    using (id = (select auth.uid()))
    with check (id = (select auth.uid()));

create policy "Members can read their organizations' memberships"
    on public.memberships for select to authenticated
    using (organization_id in (select private.organizations_of_caller()));

-- Grants: written after the policies; column lists where a role may write. -----------

revoke all on table public.organizations, public.profiles, public.memberships
    from anon, authenticated;
grant select on table public.organizations, public.profiles, public.memberships
    to authenticated;
grant update (name) on table public.organizations to authenticated;
grant update (full_name) on table public.profiles to authenticated;

-- ======================================================================================
-- Who may change whom: the role rules of memberships, as RPC functions.
--
-- Clients have no insert, update or delete grant on public.memberships: every change goes
-- through the functions below, which check the caller's role and say why they refuse.
-- They signal with the SQLSTATEs PostgREST turns into HTTP statuses, so the same
-- functions called over PostgREST answer 403/404/409 too:
--
--   PT403  forbidden: the caller's role does not allow this change
--   PT404  not found: no such organization (for the caller) or no such member
--   PT409  conflict: already a member, or the change would leave no owner
--            (the constraint name says which: memberships_organization_user_key,
--             organizations_need_an_owner)
--   PT503  someone is signing up with that e-mail right now; try again shortly
--   22023  invalid parameter value; COLUMN names the parameter at fault
--
-- The rules: owners and admins manage members; agents manage nobody but themselves
-- (anyone may leave); an admin cannot demote or remove an owner; nobody but an owner can
-- make an owner; an organization keeps at least one owner (also enforced at commit by the
-- deferred constraint triggers above).

-- The helpers below are called only by the security definer functions of this part, which
-- run as their owner: no client role needs to execute them.

-- The calling user's role in an organization, or null when they are not a member.
create function private.caller_role_in(organization uuid) returns public.membership_role
    language sql
    stable
    security definer
    set search_path = pg_catalog
as $$
    select role from public.memberships
    where organization_id = organization and user_id = (select auth.uid())
$$;

comment on function private.caller_role_in is
    'The calling user''s role in the organization; null when not a member.';

-- Locks the organization row for the rest of the transaction and returns the caller's
-- role in it. Every function that can take an owner away calls it first, so two
-- concurrent changes cannot each leave the other as the last owner and both commit.
create function private.lock_organization_for_member_change(organization uuid)
    returns public.membership_role
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    caller_role public.membership_role;
begin
    caller_role := private.caller_role_in(organization);
    if caller_role is null then
        -- Non-members learn nothing about the organization, not even that it exists.
        raise sqlstate 'PT404' using message = 'organization not found';
    end if;
    perform from public.organizations where id = organization for no key update;
    return caller_role;
end;
$$;

comment on function private.lock_organization_for_member_change is
    'Serialises membership changes of one organization; PT404 unless the caller is a member.';

-- True when the organization has an owner other than this user.
create function private.has_another_owner(organization uuid, excluded_user uuid) returns boolean
    language sql
    stable
    security definer
    set search_path = pg_catalog
as $$
    select exists (
        select from public.memberships
        where organization_id = organization and role = 'owner' and user_id <> excluded_user
    )
$$;

-- Change a member's role -------------------------------------------------------------

create function public.update_member_role_v1(
    organization_id uuid,
    user_id uuid,
    role public.membership_role
)
    returns public.memberships
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    caller_role public.membership_role;
    target public.memberships;
begin
    caller_role := private.lock_organization_for_member_change(update_member_role_v1.organization_id);
    if caller_role = 'agent' then
        raise sqlstate 'PT403' using message = 'only owners and admins can change roles';
    end if;

    select * into target from public.memberships as m
    where m.organization_id = update_member_role_v1.organization_id
      and m.user_id = update_member_role_v1.user_id
    for update;
    if not found then
        raise sqlstate 'PT404' using message = 'member not found';
    end if;

    if update_member_role_v1.role = 'owner' and caller_role <> 'owner' then
        raise sqlstate 'PT403' using message = 'only an owner can make someone an owner';
    end if;
    if target.role = 'owner' and caller_role <> 'owner' then
        raise sqlstate 'PT403' using message = 'only an owner can change an owner''s role';
    end if;
    if target.role = 'owner' and update_member_role_v1.role <> 'owner'
        and not private.has_another_owner(target.organization_id, target.user_id) then
        raise sqlstate 'PT409' using
            message = 'an organization must keep at least one owner',
            constraint = 'organizations_need_an_owner';
    end if;

    update public.memberships as m
    set role = update_member_role_v1.role
    where m.id = target.id
    returning * into target;
    return target;
end;
$$;

comment on function public.update_member_role_v1 is
    'Changes a member''s role under the role rules; PT403/PT404/PT409 say why not.';

-- Remove a member (or leave) ---------------------------------------------------------

create function public.remove_member_v1(organization_id uuid, user_id uuid)
    returns public.memberships
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    caller_role public.membership_role;
    leaving boolean := remove_member_v1.user_id = (select auth.uid());
    target public.memberships;
begin
    caller_role := private.lock_organization_for_member_change(remove_member_v1.organization_id);
    if caller_role = 'agent' and not leaving then
        raise sqlstate 'PT403' using message = 'only owners and admins can remove members';
    end if;

    select * into target from public.memberships as m
    where m.organization_id = remove_member_v1.organization_id
      and m.user_id = remove_member_v1.user_id
    for update;
    if not found then
        raise sqlstate 'PT404' using message = 'member not found';
    end if;

    if target.role = 'owner' and caller_role <> 'owner' then
        raise sqlstate 'PT403' using message = 'only an owner can remove an owner';
    end if;
    if target.role = 'owner'
        and not private.has_another_owner(target.organization_id, target.user_id) then
        raise sqlstate 'PT409' using
            message = 'an organization must keep at least one owner',
            constraint = 'organizations_need_an_owner';
    end if;

    delete from public.memberships as m where m.id = target.id;
    return target;
end;
$$;

comment on function public.remove_member_v1 is
    'Removes a member (anyone may remove themselves) under the role rules.';

-- ======================================================================================
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

-- ======================================================================================
-- Sessions: what a refresh token belongs to, and how it is rotated and revoked.
--
-- Access tokens are short-lived JWTs that carry the session's id (`session_id`); the
-- database never sees them. Refresh tokens are random strings that the database keeps only
-- as SHA-256 digests. Each refresh trades one token for a new one (rotation); presenting a
-- token that was already traded means it leaked or a client misbehaves, and revokes its
-- whole session (reuse detection). Signing out revokes the session.
--
-- Nothing here is reachable by anon or authenticated: the platform (service role) calls
-- the functions on the user's behalf.

create table private.sessions (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references auth.users (id) on delete cascade,
    created_at timestamptz not null default now(),
    refreshed_at timestamptz,
    revoked_at timestamptz,
    revoked_reason text,
    constraint sessions_revoked_reason check (
        (revoked_at is null) = (revoked_reason is null)
        and revoked_reason in ('sign_out', 'refresh_token_reuse')
    )
);

comment on table private.sessions is 'A signed-in device: the refresh tokens it traded belong to it.';

create index sessions_user_id_idx on private.sessions (user_id);

create table private.refresh_tokens (
    token_hash text primary key,
    session_id uuid not null references private.sessions (id) on delete cascade,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    rotated_at timestamptz,
    constraint refresh_tokens_hash_format check (token_hash ~ '^[0-9a-f]{64}$')
);

comment on table private.refresh_tokens is
    'Refresh tokens by SHA-256 digest (hex); rotated_at is set when traded for a new one.';
comment on column private.refresh_tokens.token_hash is
    'encode(sha256(token), ''hex''): the token itself is never stored.';

create index refresh_tokens_session_id_idx on private.refresh_tokens (session_id);
create index refresh_tokens_expires_at_idx on private.refresh_tokens (expires_at);

alter table private.sessions enable row level security;
alter table private.refresh_tokens enable row level security;
revoke all on table private.sessions, private.refresh_tokens from public, anon, authenticated;
grant select, insert, update, delete on table private.sessions, private.refresh_tokens
    to service_role;

-- Start --------------------------------------------------------------------------------

create function private.start_session_v1(user_id uuid, refresh_token_hash text, ttl interval)
    returns uuid
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    session_id uuid;
begin
    insert into private.sessions (user_id) values (start_session_v1.user_id)
    returning id into session_id;
    insert into private.refresh_tokens (token_hash, session_id, expires_at)
    values (refresh_token_hash, session_id, now() + ttl);
    return session_id;
end;
$$;

comment on function private.start_session_v1 is
    'Opens a session for a user whose credentials were just checked; returns its id.';

-- Refresh (rotate) ---------------------------------------------------------------------

-- Outcomes are returned, not raised: revoking a session on reuse must commit.
--   refreshed  the token was current; it is now rotated and new_refresh_token_hash is current
--   invalid    unknown, expired, or its session is revoked or gone
--   reused     the token had already been rotated: the session is now revoked
create function private.refresh_session_v1(
    refresh_token_hash text,
    new_refresh_token_hash text,
    ttl interval
)
    returns table (outcome text, session_id uuid, user_id uuid, email text)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    token private.refresh_tokens;
    session private.sessions;
    user_email text;
begin
    select * into token from private.refresh_tokens as t
    where t.token_hash = refresh_session_v1.refresh_token_hash
    for update;
    if not found then
        return query select 'invalid', null::uuid, null::uuid, null::text;
        return;
    end if;

    select * into session from private.sessions as s where s.id = token.session_id for update;
    if session.revoked_at is not null then
        return query select 'invalid', session.id, session.user_id, null::text;
        return;
    end if;

    if token.rotated_at is not null then
        update private.sessions as s
        set revoked_at = now(), revoked_reason = 'refresh_token_reuse'
        where s.id = session.id;
        return query select 'reused', session.id, session.user_id, null::text;
        return;
    end if;

    select u.email into user_email from auth.users as u
    where u.id = session.user_id
      and u.deleted_at is null
      and (u.banned_until is null or u.banned_until <= now());
    if token.expires_at <= now() or user_email is null then
        return query select 'invalid', session.id, session.user_id, null::text;
        return;
    end if;

    update private.refresh_tokens as t set rotated_at = now()
    where t.token_hash = token.token_hash;
    insert into private.refresh_tokens (token_hash, session_id, expires_at)
    values (new_refresh_token_hash, session.id, now() + ttl);
    update private.sessions as s set refreshed_at = now() where s.id = session.id;

    return query select 'refreshed', session.id, session.user_id, user_email;
end;
$$;

comment on function private.refresh_session_v1 is
    'Rotates a refresh token: refreshed, invalid, or reused (which revokes the session).';

-- Revoke -------------------------------------------------------------------------------

create function private.revoke_session_v1(session_id uuid, user_id uuid default null)
    returns boolean
    language sql
    volatile
    security definer
    set search_path = pg_catalog
as $$
    with revoked as (
        update private.sessions as s
        set revoked_at = now(), revoked_reason = 'sign_out'
        where s.id = revoke_session_v1.session_id
          and (revoke_session_v1.user_id is null or s.user_id = revoke_session_v1.user_id)
          and s.revoked_at is null
        returning 1
    )
    select exists (select from revoked)
$$;

comment on function private.revoke_session_v1 is
    'Signs a session out (only one of user_id''s, when given); true if it was active.';

create function private.revoke_session_by_refresh_token_v1(refresh_token_hash text)
    returns boolean
    language sql
    volatile
    security definer
    set search_path = pg_catalog
as $$
    select private.revoke_session_v1(t.session_id)
    from private.refresh_tokens as t
    where t.token_hash = revoke_session_by_refresh_token_v1.refresh_token_hash
$$;

comment on function private.revoke_session_by_refresh_token_v1 is
    'Signs out the session a refresh token (current or rotated) belongs to.';

-- Upkeep -------------------------------------------------------------------------------

-- Deletes sessions that can no longer be refreshed (revoked, or whose every refresh token
-- expired) once `keep` has passed, so the tables hold live sessions and recent history.
create function private.purge_sessions_v1(keep interval)
    returns integer
    language sql
    volatile
    security definer
    set search_path = pg_catalog
as $$
    with purged as (
        delete from private.sessions as s
        where coalesce(s.revoked_at, (
                select max(t.expires_at) from private.refresh_tokens as t
                where t.session_id = s.id
            ), s.created_at) < now() - keep
        returning 1
    )
    select count(*)::integer from purged
$$;

comment on function private.purge_sessions_v1 is
    'Deletes sessions dead (revoked or expired) for longer than keep; returns how many.';

-- ======================================================================================
-- Inviting people: a membership at once, and for people new to Atende an invitation
-- token with which they choose their name and password.
--
-- The token is handed to the inviter (sending it by e-mail is another feature's job) and
-- stored here only as its SHA-256 digest. Tokens are issued only for users the invitation
-- itself created: an existing account never gets a token someone else could use to set
-- its password.

create table public.invitations (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    user_id uuid not null references public.profiles (id) on delete cascade,
    invited_by uuid references public.profiles (id) on delete set null,
    token_hash text not null,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    accepted_at timestamptz,
    -- Removing the member withdraws the invitation.
    constraint invitations_membership_fkey foreign key (organization_id, user_id)
        references public.memberships (organization_id, user_id) on delete cascade,
    constraint invitations_token_hash_key unique (token_hash),
    constraint invitations_token_hash_format check (token_hash ~ '^[0-9a-f]{64}$')
);

comment on table public.invitations is
    'Invitations to set a password, for people an organization added to Atende.';
comment on column public.invitations.token_hash is
    'encode(sha256(token), ''hex''): the token itself is never stored.';

-- Policies filter by organization_id; the membership foreign key and cascades use both.
create index invitations_organization_id_user_id_idx
    on public.invitations (organization_id, user_id);
create index invitations_user_id_idx on public.invitations (user_id);
create index invitations_invited_by_idx on public.invitations (invited_by);

alter table public.invitations enable row level security;

create policy "Owners and admins can read their organization's invitations"
    on public.invitations for select to authenticated
    using (organization_id in (select private.organizations_where_caller_is('{owner,admin}')));

-- Grants: after the policies. Reading only, and never the digest; all writes go through
-- invite_member_v1 and the platform's functions below.
revoke all on table public.invitations from anon, authenticated;
grant select (id, organization_id, user_id, invited_by, created_at, expires_at, accepted_at)
    on table public.invitations to authenticated;

-- Invite ---------------------------------------------------------------------------------

-- Adds a person to an organization under the role rules.
--
-- Called first without new_user_id. When the e-mail is already an Atende user, the
-- membership is created (outcome 'invited'). When nobody has that e-mail, nothing is
-- written and the outcome is 'needs_account': the platform reserves a user
-- (private.reserve_user_v1), has the identity provider create it, and calls again with
-- new_user_id, which creates the profile, the membership and the invitation.
create function public.invite_member_v1(
    organization_id uuid,
    email text,
    role public.membership_role,
    invitation_token_hash text,
    new_user_id uuid default null,
    invitation_ttl interval default interval '7 days'
)
    returns table (outcome text, membership_id uuid, user_id uuid, invitation_id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    caller_role public.membership_role := private.caller_role_in(invite_member_v1.organization_id);
    normalized text;
    invitee uuid;
    invitee_name text;
    membership uuid;
    invitation uuid;
begin
    if caller_role is null then
        raise sqlstate 'PT404' using message = 'organization not found';
    end if;
    if caller_role = 'agent' then
        raise sqlstate 'PT403' using message = 'only owners and admins can invite members';
    end if;
    if invite_member_v1.role = 'owner' and caller_role <> 'owner' then
        raise sqlstate 'PT403' using message = 'only an owner can make someone an owner';
    end if;
    normalized := private.normalize_email(invite_member_v1.email);

    if invite_member_v1.new_user_id is null then
        select p.id into invitee from public.profiles as p where lower(p.email) = normalized;
        if invitee is null then
            if exists (
                select from private.pending_users as pu
                where pu.email = normalized and pu.abandoned_at is null
            ) then
                raise sqlstate 'PT503' using message = 'someone is signing up with this e-mail';
            end if;
            -- A user of the Supabase project who never used Atende: give them a profile.
            select u.id, coalesce(
                    nullif(btrim(u.raw_user_meta_data ->> 'full_name'), ''),
                    split_part(normalized, '@', 1))
                into invitee, invitee_name
            from auth.users as u
            where lower(u.email) = normalized and u.deleted_at is null
            limit 1;
            if invitee is null then
                return query select 'needs_account', null::uuid, null::uuid, null::uuid;
                return;
            end if;
            insert into public.profiles (id, email, full_name)
            values (invitee, normalized, left(invitee_name, 200));
        end if;
    else
        -- The user the platform just created for this invitation, and only that one.
        delete from private.pending_users as pu
        where pu.user_id = invite_member_v1.new_user_id
          and pu.email = normalized
          and pu.purpose = 'invitation'
          and pu.abandoned_at is null
        returning pu.user_id into invitee;
        if invitee is null then
            raise sqlstate 'PT404' using message = 'no invitation account is pending for this e-mail';
        end if;
        insert into public.profiles (id, email, full_name)
        values (invitee, normalized, left(split_part(normalized, '@', 1), 200));
    end if;

    begin
        insert into public.memberships (organization_id, user_id, role)
        values (invite_member_v1.organization_id, invitee, invite_member_v1.role)
        returning id into membership;
    exception when unique_violation then
        raise sqlstate 'PT409' using
            message = 'already a member of this organization',
            constraint = 'memberships_organization_user_key';
    end;

    if invite_member_v1.new_user_id is not null then
        insert into public.invitations (organization_id, user_id, invited_by, token_hash, expires_at)
        values (
            invite_member_v1.organization_id,
            invitee,
            (select auth.uid()),
            invite_member_v1.invitation_token_hash,
            now() + invite_member_v1.invitation_ttl
        )
        returning id into invitation;
    end if;

    return query select 'invited', membership, invitee, invitation;
end;
$$;

comment on function public.invite_member_v1 is
    'Adds a person to an organization under the role rules; see the comment above it.';

-- Accept ---------------------------------------------------------------------------------

-- Claims an invitation (one winner when a token is presented twice at once) and records
-- the name the person chose. The platform then sets the password in the identity provider;
-- when that fails, it gives the claim back (unclaim_invitation_v1).
create function private.claim_invitation_v1(invitation_token_hash text, chosen_name text)
    returns table (invitation_id uuid, user_id uuid, email text, full_name text)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_column
declare
    new_name text := private.require_text(claim_invitation_v1.chosen_name, 'full_name', 200);
    claimed public.invitations;
    profile public.profiles;
begin
    update public.invitations as i
    set accepted_at = now()
    where i.token_hash = claim_invitation_v1.invitation_token_hash
      and i.accepted_at is null
      and i.expires_at > now()
    returning * into claimed;
    if not found then
        raise sqlstate 'PT404' using message = 'invitation not found, expired or already accepted';
    end if;

    update public.profiles as p set full_name = new_name
    where p.id = claimed.user_id
    returning * into profile;

    return query select claimed.id, profile.id, profile.email, profile.full_name;
end;
$$;

comment on function private.claim_invitation_v1 is
    'Marks an invitation accepted and sets the invitee''s name; PT404 when it cannot be used.';

create function private.unclaim_invitation_v1(invitation_id uuid)
    returns void
    language sql
    volatile
    security definer
    set search_path = pg_catalog
as $$
    update public.invitations as i set accepted_at = null
    where i.id = unclaim_invitation_v1.invitation_id
$$;

comment on function private.unclaim_invitation_v1 is
    'Makes a claimed invitation usable again after setting the password failed.';
