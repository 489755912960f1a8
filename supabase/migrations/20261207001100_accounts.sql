-- Accounts you can trust (issue 17, items 2 to 4): verified e-mail, invitations the
-- invitee accepts, password reset and change.
--
-- Every one-time token here is random, mailed to an address, and kept only as its
-- SHA-256 digest. Holding one proves the holder reads that address: using it verifies
-- the address. All functions are the platform's (service role): the API checks who asks
-- (the caller's id, from a verified token, is passed in as `actor`), renders the mail,
-- and queues it in the same transaction (`private.queue_mail_v1`), so a token exists if
-- and only if its mail is on the way.
--
-- Invitations change meaning: an invitation no longer makes a membership. It records an
-- e-mail and a role; the membership starts when the person who reads that mailbox
-- accepts. The invitations of the earlier shape were memberships already, and their
-- tokens were handed to the inviter: those still waiting are withdrawn with their
-- memberships (the invited people never had a password), and their organizations invite
-- again.

-- Verified e-mail ----------------------------------------------------------------------

alter table public.profiles add column email_verified_at timestamptz;

comment on column public.profiles.email_verified_at is
    'When the person proved they read this address (a verification, invitation or reset '
    'link); null until then. An unverified account joins no organization but its own.';

-- Accounts made before verification existed start unverified: none of them proved it.

-- One-time account tokens --------------------------------------------------------------

create table private.account_tokens (
    token_hash text primary key,
    user_id uuid not null references auth.users (id) on delete cascade,
    purpose text not null,
    -- The address the token was mailed to: verifying it verifies this address only.
    email text not null,
    -- The clock, not the transaction's start: "newer" must hold within one transaction.
    created_at timestamptz not null default clock_timestamp(),
    expires_at timestamptz not null,
    used_at timestamptz,
    constraint account_tokens_purpose check (purpose in ('verify_email', 'reset_password')),
    constraint account_tokens_hash_format check (token_hash ~ '^[0-9a-f]{64}$')
);

comment on table private.account_tokens is
    'E-mail verification and password reset tokens, by SHA-256 digest (hex); one use each.';

create index account_tokens_user_id_purpose_idx on private.account_tokens (user_id, purpose);
create index account_tokens_expires_at_idx on private.account_tokens (expires_at);

alter table private.account_tokens enable row level security;
revoke all on table private.account_tokens from public, anon, authenticated;
grant select, insert, update, delete on table private.account_tokens to service_role;

-- Issues a token for a user; earlier unused tokens of the same purpose stop working, so
-- only the latest mail's link does. Returns the address to mail it to.
create function private.issue_account_token_v1(
    user_id uuid, purpose text, token_hash text, ttl interval
)
    returns text
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    address text;
begin
    select lower(p.email) into address from public.profiles as p
    where p.id = issue_account_token_v1.user_id;
    if address is null then
        raise sqlstate 'PT404' using message = 'user not found';
    end if;
    update private.account_tokens as t set used_at = now()
    where t.user_id = issue_account_token_v1.user_id
      and t.purpose = issue_account_token_v1.purpose
      and t.used_at is null;
    insert into private.account_tokens (token_hash, user_id, purpose, email, expires_at)
    values (issue_account_token_v1.token_hash, issue_account_token_v1.user_id,
            issue_account_token_v1.purpose, address, now() + ttl);
    return address;
end;
$$;

comment on function private.issue_account_token_v1 is
    'Issues a verification or reset token (earlier ones of that purpose stop working); '
    'returns the address to mail it to.';

-- A password reset for whoever has this address: the user's id, or null when nobody does
-- (the API answers the same either way and mails nothing).
create function private.issue_password_reset_v1(email text, token_hash text, ttl interval)
    returns uuid
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    normalized text := private.normalize_email(email);
    owner uuid;
begin
    select p.id into owner from public.profiles as p where lower(p.email) = normalized;
    if owner is null then
        return null;
    end if;
    perform private.issue_account_token_v1(owner, 'reset_password', token_hash, ttl);
    return owner;
end;
$$;

comment on function private.issue_password_reset_v1 is
    'Issues a reset token for the account with this e-mail; null (and nothing) when none.';

-- Uses a token: one winner when it is presented twice at once. Using any token verifies
-- the address it was mailed to (when it is still the account's). PT404 when it is
-- unknown, used, expired or of another purpose: one answer for all.
create function private.use_account_token_v1(token_hash text, purpose text)
    returns table (user_id uuid, email text)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    used private.account_tokens;
begin
    update private.account_tokens as t set used_at = now()
    where t.token_hash = use_account_token_v1.token_hash
      and t.purpose = use_account_token_v1.purpose
      and t.used_at is null
      and t.expires_at > now()
    returning * into used;
    if not found then
        raise sqlstate 'PT404' using message = 'token not found, expired or already used';
    end if;
    update public.profiles as p
    set email_verified_at = coalesce(p.email_verified_at, now())
    where p.id = used.user_id and lower(p.email) = used.email;
    return query select used.user_id, used.email;
end;
$$;

comment on function private.use_account_token_v1 is
    'Spends a token and verifies the address it reached; PT404 when it cannot be used.';

-- Gives a token back when the step after it failed (the provider could not set the
-- password), so the same link works on the next try.
create function private.unuse_account_token_v1(token_hash text)
    returns void
    language sql
    volatile
    security definer
    set search_path = pg_catalog
as $$
    update private.account_tokens as t set used_at = null
    where t.token_hash = unuse_account_token_v1.token_hash
      and t.expires_at > now()
      -- Not when a newer token of the same purpose was issued meanwhile.
      and not exists (
          select from private.account_tokens as newer
          where newer.user_id = t.user_id and newer.purpose = t.purpose
            and newer.created_at > t.created_at
      )
$$;

comment on function private.unuse_account_token_v1 is
    'Makes a spent token usable again after the step that followed it failed.';

create function private.purge_account_tokens_v1(keep interval)
    returns integer
    language sql
    volatile
    security definer
    set search_path = pg_catalog
as $$
    with purged as (
        delete from private.account_tokens as t
        where t.expires_at < now() - keep
        returning 1
    )
    select count(*)::integer from purged
$$;

comment on function private.purge_account_tokens_v1 is
    'Deletes tokens expired for longer than keep; returns how many.';

-- Ending a user's other sessions --------------------------------------------------------

alter table private.sessions drop constraint sessions_revoked_reason;
alter table private.sessions add constraint sessions_revoked_reason check (
    (revoked_at is null) = (revoked_reason is null)
    and revoked_reason in ('sign_out', 'refresh_token_reuse', 'password_change')
);

-- Signs out every session of the user but `kept` (the one that changed the password;
-- null: all of them). Returns the sessions it ended, for the API to stop their access
-- tokens in its own process at once.
create function private.end_other_sessions_v1(user_id uuid, kept uuid)
    returns setof uuid
    language sql
    volatile
    security definer
    set search_path = pg_catalog
as $$
    update private.sessions as s
    set revoked_at = now(), revoked_reason = 'password_change'
    where s.user_id = end_other_sessions_v1.user_id
      and s.revoked_at is null
      and s.id is distinct from end_other_sessions_v1.kept
    returning s.id
$$;

comment on function private.end_other_sessions_v1 is
    'Signs out all of a user''s sessions except kept (a password changed); returns them.';

-- Invitations ----------------------------------------------------------------------------

-- The earlier shape's waiting invitations (see the top of this file).
delete from public.memberships as m
using public.invitations as i
where i.organization_id = m.organization_id
  and i.user_id = m.user_id
  and i.accepted_at is null;

drop function public.invite_member_v1(uuid, text, public.membership_role, text, uuid, interval);
drop function private.claim_invitation_v1(text, text);
drop function private.unclaim_invitation_v1(uuid);
drop table public.invitations;

create table public.invitations (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    email text not null,
    role public.membership_role not null,
    invited_by uuid references public.profiles (id) on delete set null,
    token_hash text not null,
    created_at timestamptz not null default now(),
    -- When the mail was last queued: inviting the same address again re-sends it.
    sent_at timestamptz not null default now(),
    expires_at timestamptz not null,
    accepted_at timestamptz,
    accepted_by uuid references public.profiles (id) on delete set null,
    revoked_at timestamptz,
    constraint invitations_token_hash_key unique (token_hash),
    constraint invitations_token_hash_format check (token_hash ~ '^[0-9a-f]{64}$'),
    constraint invitations_email_lowercase check (email = lower(email)),
    constraint invitations_closed_once check (accepted_at is null or revoked_at is null)
);

comment on table public.invitations is
    'An e-mail invited into an organization with a role; a membership once accepted.';
comment on column public.invitations.token_hash is
    'encode(sha256(token), ''hex'') of the token mailed to the address; never stored itself.';

-- One open invitation per organization and address: inviting again renews it.
create unique index invitations_open_key on public.invitations (organization_id, email)
    where accepted_at is null and revoked_at is null;
create index invitations_invited_by_idx on public.invitations (invited_by);
create index invitations_accepted_by_idx on public.invitations (accepted_by);

alter table public.invitations enable row level security;

create policy "Owners and admins can read their organization's invitations"
    on public.invitations for select to authenticated
    using (organization_id in (select private.organizations_where_caller_is('{owner,admin}')));

-- Reading only, and never the digest: every write is one of the functions below.
revoke all on table public.invitations from anon, authenticated;
grant select (
    id, organization_id, email, role, invited_by, created_at, sent_at, expires_at,
    accepted_at, accepted_by, revoked_at
) on table public.invitations to authenticated;

-- The actor's role in an organization, or null when they are not a member.
create function private.role_in(organization uuid, actor uuid) returns public.membership_role
    language sql
    stable
    security definer
    set search_path = pg_catalog
as $$
    select role from public.memberships
    where organization_id = organization and user_id = actor
$$;

-- Invite (or invite again): under the role rules of memberships; PT409 when the address
-- is already a member's. The answer never says whether an account has that address.
create function private.invite_member_v2(
    actor uuid,
    organization_id uuid,
    email text,
    role public.membership_role,
    token_hash text,
    ttl interval
)
    returns table (invitation_id uuid, organization_name text, inviter_name text)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_column
declare
    actor_role public.membership_role := private.role_in(invite_member_v2.organization_id, actor);
    normalized text;
    invitation uuid;
begin
    if actor_role is null then
        raise sqlstate 'PT404' using message = 'organization not found';
    end if;
    if actor_role = 'agent' then
        raise sqlstate 'PT403' using message = 'only owners and admins can invite members';
    end if;
    if invite_member_v2.role = 'owner' and actor_role <> 'owner' then
        raise sqlstate 'PT403' using message = 'only an owner can make someone an owner';
    end if;
    normalized := private.normalize_email(invite_member_v2.email);
    if exists (
        select from public.memberships as m
        join public.profiles as p on p.id = m.user_id
        where m.organization_id = invite_member_v2.organization_id
          and lower(p.email) = normalized
    ) then
        raise sqlstate 'PT409' using
            message = 'already a member of this organization',
            constraint = 'memberships_organization_user_key';
    end if;

    -- Inviting again replaces the open invitation's link and role: for an owner's
    -- invitation, that is an owner's decision (as revoking it is).
    if actor_role <> 'owner' and exists (
        select from public.invitations as i
        where i.organization_id = invite_member_v2.organization_id
          and i.email = normalized
          and i.role = 'owner'
          and i.accepted_at is null and i.revoked_at is null
    ) then
        raise sqlstate 'PT403' using message = 'only an owner can change an owner''s invitation';
    end if;

    insert into public.invitations as i (
        organization_id, email, role, invited_by, token_hash, expires_at
    )
    values (
        invite_member_v2.organization_id, normalized, invite_member_v2.role, actor,
        invite_member_v2.token_hash, now() + ttl
    )
    on conflict (organization_id, email) where accepted_at is null and revoked_at is null
    do update set
        role = excluded.role,
        invited_by = excluded.invited_by,
        token_hash = excluded.token_hash,
        sent_at = now(),
        expires_at = excluded.expires_at
    returning i.id into invitation;

    return query
    select invitation, o.name, p.full_name
    from public.organizations as o, public.profiles as p
    where o.id = invite_member_v2.organization_id and p.id = actor;
end;
$$;

comment on function private.invite_member_v2 is
    'Records (or renews, with a new token) an invitation by actor under the role rules.';

-- Revokes an open invitation (owners and admins; only owners revoke an owner's).
-- PT404 when the actor cannot see it or it is no longer open.
create function private.revoke_invitation_v1(actor uuid, invitation_id uuid)
    returns public.invitations
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    target public.invitations;
    actor_role public.membership_role;
begin
    select * into target from public.invitations as i
    where i.id = revoke_invitation_v1.invitation_id
    for update;
    actor_role := private.role_in(target.organization_id, actor);
    if target.id is null or actor_role is null or actor_role = 'agent' then
        raise sqlstate 'PT404' using message = 'invitation not found';
    end if;
    if target.role = 'owner' and actor_role <> 'owner' then
        raise sqlstate 'PT403' using message = 'only an owner can revoke an owner''s invitation';
    end if;
    if target.accepted_at is not null or target.revoked_at is not null then
        raise sqlstate 'PT404' using message = 'invitation not found';
    end if;
    update public.invitations as i set revoked_at = now()
    where i.id = target.id
    returning * into target;
    return target;
end;
$$;

comment on function private.revoke_invitation_v1 is
    'Revokes an open invitation under the role rules; PT404 when there is none to revoke.';

-- The address an open, unexpired invitation token was mailed to (before a new person's
-- account is created for it); PT404 otherwise.
create function private.invitation_email_v1(token_hash text)
    returns text
    language plpgsql
    stable
    security definer
    set search_path = pg_catalog
as $$
declare
    address text;
begin
    select i.email into address from public.invitations as i
    where i.token_hash = invitation_email_v1.token_hash
      and i.accepted_at is null and i.revoked_at is null and i.expires_at > now();
    if address is null then
        raise sqlstate 'PT404' using message = 'invitation not found, expired or already used';
    end if;
    return address;
end;
$$;

-- Accepts an invitation as `user_id`, whose profile must have the invited address (the
-- token proves they read it, so the address is verified too). With `new_user_full_name`,
-- the user is the one the platform just created for this invitation (reserved with
-- private.reserve_user_v1, purpose 'invitation'): its profile is created here.
-- PT404 when the token cannot be used or is for another address: one answer for all.
create function private.accept_invitation_v2(
    token_hash text, user_id uuid, new_user_full_name text default null
)
    returns table (
        invitation_id uuid, organization_id uuid, membership_id uuid, email text, role text
    )
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    invitation public.invitations;
    address text;
    membership uuid;
    joined_as public.membership_role;
begin
    select * into invitation from public.invitations as i
    where i.token_hash = accept_invitation_v2.token_hash
      and i.accepted_at is null and i.revoked_at is null and i.expires_at > now()
    for update;
    if not found then
        raise sqlstate 'PT404' using message = 'invitation not found, expired or already used';
    end if;

    if new_user_full_name is not null then
        delete from private.pending_users as pu
        where pu.user_id = accept_invitation_v2.user_id
          and pu.email = invitation.email
          and pu.purpose = 'invitation'
          and pu.abandoned_at is null;
        if not found then
            raise sqlstate 'PT404' using message = 'no account is pending for this invitation';
        end if;
        insert into public.profiles (id, email, full_name, email_verified_at)
        values (
            accept_invitation_v2.user_id,
            invitation.email,
            private.require_text(new_user_full_name, 'full_name', 200),
            now()
        );
    end if;

    update public.profiles as p
    set email_verified_at = coalesce(p.email_verified_at, now())
    where p.id = accept_invitation_v2.user_id and lower(p.email) = invitation.email
    returning p.email into address;
    if address is null then
        raise sqlstate 'PT404' using message = 'invitation not found, expired or already used';
    end if;

    insert into public.memberships (organization_id, user_id, role)
    values (invitation.organization_id, accept_invitation_v2.user_id, invitation.role)
    on conflict on constraint memberships_organization_user_key do nothing
    returning id, memberships.role into membership, joined_as;
    if membership is null then  -- a member already (added another way): the invitation is spent
        select m.id, m.role into membership, joined_as from public.memberships as m
        where m.organization_id = invitation.organization_id
          and m.user_id = accept_invitation_v2.user_id;
    end if;

    update public.invitations as i
    set accepted_at = now(), accepted_by = accept_invitation_v2.user_id
    where i.id = invitation.id;

    return query select
        invitation.id, invitation.organization_id, membership, address, joined_as::text;
end;
$$;

comment on function private.accept_invitation_v2 is
    'Makes the invited address''s account a member with the invited role; PT404 otherwise.';

-- Grants: the platform's, every one -------------------------------------------------------

revoke all on function
    private.issue_account_token_v1(uuid, text, text, interval),
    private.issue_password_reset_v1(text, text, interval),
    private.use_account_token_v1(text, text),
    private.unuse_account_token_v1(text),
    private.purge_account_tokens_v1(interval),
    private.end_other_sessions_v1(uuid, uuid),
    private.role_in(uuid, uuid),
    private.invite_member_v2(uuid, uuid, text, public.membership_role, text, interval),
    private.revoke_invitation_v1(uuid, uuid),
    private.invitation_email_v1(text),
    private.accept_invitation_v2(text, uuid, text)
from public, anon, authenticated;

grant execute on function
    private.issue_account_token_v1(uuid, text, text, interval),
    private.issue_password_reset_v1(text, text, interval),
    private.use_account_token_v1(text, text),
    private.unuse_account_token_v1(text),
    private.purge_account_tokens_v1(interval),
    private.end_other_sessions_v1(uuid, uuid),
    private.invite_member_v2(uuid, uuid, text, public.membership_role, text, interval),
    private.revoke_invitation_v1(uuid, uuid),
    private.invitation_email_v1(text),
    private.accept_invitation_v2(text, uuid, text)
to service_role;
