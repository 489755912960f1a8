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

revoke all on function public.invite_member_v1 from public;
grant execute on function public.invite_member_v1 to authenticated;

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

revoke all on function private.claim_invitation_v1 from public;
revoke all on function private.unclaim_invitation_v1 from public;
grant execute on function private.claim_invitation_v1 to service_role;
grant execute on function private.unclaim_invitation_v1 to service_role;
