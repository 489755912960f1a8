-- Tenancy: organizations, the people in them (profiles) and their roles (memberships).
--
-- Every other table hangs off an organization, and every policy asks the same question:
-- "is the caller a member of this row's organization?" The answer comes from the
-- security definer helpers at the end, so policies stay short and use the index on
-- memberships(user_id).

-- Shared trigger ----------------------------------------------------------------------

create function private.tg__set_updated_at() returns trigger
    language plpgsql
    volatile
    set search_path = pg_catalog
as $$
begin
    new.updated_at := now();
    return new;
end;
$$;

comment on function private.tg__set_updated_at is 'Keeps updated_at current on every update.';

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
create function private.assert_organization_has_owner(organization uuid) returns void
    language plpgsql
    stable
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
    stable
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
    stable
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

grant usage on schema private to authenticated;

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

revoke all on function private.organizations_of_caller from public;
revoke all on function private.organizations_where_caller_is from public;
grant execute on function private.organizations_of_caller to authenticated, service_role;
grant execute on function private.organizations_where_caller_is to authenticated, service_role;

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
