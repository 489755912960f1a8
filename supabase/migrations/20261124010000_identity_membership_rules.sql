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
-- deferred constraint triggers of 20261124000300_identity.sql).

-- The helpers below are called only by the security definer functions in this file, which
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

revoke all on function private.caller_role_in from public;

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

revoke all on function private.lock_organization_for_member_change from public;

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

revoke all on function private.has_another_owner from public;

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

revoke all on function public.update_member_role_v1 from public;
grant execute on function public.update_member_role_v1 to authenticated;

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

revoke all on function public.remove_member_v1 from public;
grant execute on function public.remove_member_v1 to authenticated;
