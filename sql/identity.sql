-- Identity: the queries the Python layer runs about users, organizations and members.
-- They run as the caller (role authenticated), so RLS decides what comes back.

-- name: viewer_profile
-- The signed-in user's own profile.
select id, email, full_name
from public.profiles
where id = (select auth.uid());

-- name: viewer_memberships
-- The caller's memberships, with their organizations, oldest first.
select m.role, o.id as organization_id, o.name as organization_name,
       o.created_at as organization_created_at
from public.memberships as m
join public.organizations as o on o.id = m.organization_id
where m.user_id = (select auth.uid())
order by m.created_at, o.name;

-- name: organizations_by_id
-- Organizations by id; RLS hides those the caller does not belong to.
select id, name, created_at
from public.organizations
where id = any(%(ids)s::uuid[]);
