-- Identity: the queries the Python layer runs about users, organizations and members.
-- They run as the caller (role authenticated), so RLS decides what comes back.

-- name: viewer_profile
-- The signed-in user's own profile.
select id, email, full_name, email_verified_at is not null as email_verified
from public.profiles
where id = (select auth.uid());

-- name: viewer_memberships
-- The caller's memberships, with their organizations, oldest first.
select m.id, m.role, m.created_at, m.user_id, m.organization_id,
       o.name as organization_name, o.created_at as organization_created_at
from public.memberships as m
join public.organizations as o on o.id = m.organization_id
where m.user_id = (select auth.uid())
order by m.created_at, o.name;

-- name: organizations_by_id
-- Organizations by id; RLS hides those the caller does not belong to.
select id, name, created_at
from public.organizations
where id = any(%(ids)s::uuid[]);

-- Members -----------------------------------------------------------------------------
-- As the caller: RLS shows only organizations they belong to.

-- name: members_of_organizations
-- The members of these organizations, owners first, then by name.
select m.id, m.organization_id, m.user_id, m.role, m.created_at
from public.memberships as m
join public.profiles as p on p.id = m.user_id
where m.organization_id = any(%(organization_ids)s::uuid[])
order by m.organization_id, m.role, lower(p.full_name), p.id;

-- name: memberships_by_id
select m.id, m.organization_id, m.user_id, m.role, m.created_at
from public.memberships as m
where m.id = any(%(ids)s::uuid[]);

-- name: profiles_by_id
-- Users by id; RLS shows the caller and their teammates.
select id, email, full_name, email_verified_at is not null as email_verified
from public.profiles
where id = any(%(ids)s::uuid[]);

-- name: invitations_of_organizations
-- Invitations of these organizations, newest first; RLS shows them to owners and admins.
select id, organization_id, email, role, invited_by, created_at, sent_at, expires_at,
       accepted_at, accepted_by, revoked_at
from public.invitations
where organization_id = any(%(organization_ids)s::uuid[])
order by organization_id, created_at desc, id;

-- name: invitations_by_id
select id, organization_id, email, role, invited_by, created_at, sent_at, expires_at,
       accepted_at, accepted_by, revoked_at
from public.invitations
where id = any(%(ids)s::uuid[]);

-- name: update_member_role
select id as membership_id, organization_id, user_id
from public.update_member_role_v1(
    %(organization_id)s, %(user_id)s, %(role)s::public.membership_role
);

-- name: remove_member
select id as membership_id, organization_id, user_id
from public.remove_member_v1(%(organization_id)s, %(user_id)s);

-- Registration and invitations: the platform's steps (service role) --------------------

-- name: reserve_user
select private.reserve_user_v1(%(email)s, %(purpose)s) as user_id;

-- name: register_organization
select id, name, created_at
from private.register_organization_v1(%(user_id)s, %(organization_name)s, %(full_name)s);

-- name: release_pending_user
select private.release_pending_user_v1(%(user_id)s, %(abandon)s) as released;

-- name: abandoned_pending_users
select user_id, email, purpose, created_at, abandoned_at
from private.abandoned_pending_users_v1(%(in_flight_for)s, %(abandoned_for)s);

-- Invitations, verification and passwords: the platform's steps, for an actor the API
-- authenticated (20261207001100_accounts.sql) --------------------------------------------

-- name: invite_member
select invitation_id, organization_name, inviter_name
from private.invite_member_v2(
    %(actor)s, %(organization_id)s, %(email)s, %(role)s::public.membership_role,
    %(token_hash)s, %(ttl)s
);

-- name: revoke_invitation
select id from private.revoke_invitation_v1(%(actor)s, %(invitation_id)s);

-- name: invitation_email
select i.email, exists (
           select from public.profiles as p where lower(p.email) = i.email
       ) as has_account
from private.invitation_email_v1(%(token_hash)s) as i (email);

-- name: accept_invitation
select invitation_id, organization_id, membership_id, email, role
from private.accept_invitation_v2(%(token_hash)s, %(user_id)s, %(new_user_full_name)s);

-- name: issue_account_token
select private.issue_account_token_v1(%(user_id)s, %(purpose)s, %(token_hash)s, %(ttl)s)
    as email;

-- name: issue_password_reset
select private.issue_password_reset_v1(%(email)s, %(token_hash)s, %(ttl)s) as user_id;

-- name: use_account_token
select user_id, email from private.use_account_token_v1(%(token_hash)s, %(purpose)s);

-- name: unuse_account_token
select private.unuse_account_token_v1(%(token_hash)s);

-- name: purge_account_tokens
select private.purge_account_tokens_v1(%(keep)s) as purged;

-- name: end_other_sessions
select s as session_id from private.end_other_sessions_v1(%(user_id)s, %(kept)s) as s;

-- name: profile_for_account_mail
-- The name and address to greet, and whether there is anything to verify.
select full_name, email, email_verified_at is not null as email_verified
from public.profiles
where id = %(user_id)s;

-- Sessions (service role) ---------------------------------------------------------------

-- name: start_session
select private.start_session_v1(%(user_id)s, %(refresh_token_hash)s, %(ttl)s) as session_id;

-- name: refresh_session
select outcome, session_id, user_id, email
from private.refresh_session_v1(%(refresh_token_hash)s, %(new_refresh_token_hash)s, %(ttl)s);

-- name: revoke_session
select private.revoke_session_v1(%(session_id)s, %(user_id)s) as revoked;

-- name: revoke_session_by_refresh_token
select coalesce(private.revoke_session_by_refresh_token_v1(%(refresh_token_hash)s), false)
    as revoked;

-- name: purge_sessions
select private.purge_sessions_v1(%(keep)s) as purged;

-- Local identity provider: auth.users as Supabase Auth keeps it (service role) ---------

-- name: local_create_user
-- A user and their e-mail identity, as Supabase Auth (GoTrue) writes them: its token
-- columns '' rather than NULL, which GoTrue cannot read (the local stand-in of
-- auth.users, 20261124000000_supabase_compat.sql).
with new_user as (
    insert into auth.users (
        instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, invited_at,
        confirmation_token, recovery_token, email_change_token_new, email_change,
        raw_app_meta_data, raw_user_meta_data, created_at, updated_at
    )
    values (
        '00000000-0000-0000-0000-000000000000', %(id)s, 'authenticated', 'authenticated',
        %(email)s, %(encrypted_password)s,
        case when %(email_confirmed)s then now() end,
        case when %(invited)s then now() end,
        '', '', '', '',
        '{"provider": "email", "providers": ["email"]}', %(user_metadata)s, now(), now()
    )
    returning id, email, email_confirmed_at, created_at
)
insert into auth.identities (provider_id, user_id, identity_data, provider, created_at, updated_at)
select id::text, id,
       jsonb_build_object('sub', id::text, 'email', email,
                          'email_verified', email_confirmed_at is not null,
                          'phone_verified', false),
       'email', created_at, created_at
from new_user;

-- name: local_delete_user
delete from auth.users where id = %(id)s;

-- name: local_set_password
-- Choosing a password confirms the e-mail (an invitation reached it), on the user and on
-- their e-mail identity, as GoTrue records it.
with confirmed as (
    update auth.users
    set encrypted_password = %(encrypted_password)s,
        email_confirmed_at = coalesce(email_confirmed_at, now()),
        updated_at = now()
    where id = %(id)s
    returning id
),
verified as (
    update auth.identities
    set identity_data = identity_data || '{"email_verified": true}', updated_at = now()
    where user_id in (select id from confirmed) and provider = 'email'
)
select id from confirmed;

-- name: local_user_for_sign_in
-- E-mails are stored lowercased, so this uses users_email_partial_key.
select id, email, encrypted_password
from auth.users
where email = %(email)s
  and is_sso_user = false
  and deleted_at is null
  and (banned_until is null or banned_until <= now());

-- name: local_record_sign_in
update auth.users set last_sign_in_at = now() where id = %(id)s;

-- name: session_alive
-- Whether a session Atende started is still signed in, for an access token that names it
-- (service role; sessions_pkey). No row: not one of Atende's sessions (Supabase Auth's
-- own tokens name theirs), judged by the token's signature and expiry alone.
select s.revoked_at is null and s.user_id = %(user_id)s::uuid as alive
from private.sessions as s
where s.id = %(session_id)s::uuid;

-- name: rate_limit_hit
-- Rate limits (20261207000900_rate_limits.sql): one attempt counted against each key,
-- in one round trip; keys in a fixed order (account before address), so two statements
-- never wait on each other's rows.
select h.allowed, h.retry_after_seconds
from unnest(%(keys)s::text[], %(maxes)s::integer[], %(windows)s::interval[])
    with ordinality as k (key, max, win, position)
cross join lateral private.rate_limit_hit_v1(%(action)s, k.key, k.max, k.win) as h
order by k.position;

-- name: purge_rate_limits
select private.purge_rate_limits_v1() as purged;
