-- The platform's side of accounts (20261207001100_accounts.sql), as the service role:
-- invitations under the role rules, accepting one, one-time verification and reset
-- tokens, and ending a user's other sessions. Who may call these functions at all (the
-- service role only) is shown in identity_roles.test.sql and function_grants.test.sql.
--
--   Padaria (a):  owner_a (owner, "Ana Dona"), admin_a (admin, "Bruno Admin"), agent_a
--   Oficina (b):  owner_b (owner)
--   no organization: known (c1), other (c2), later (c3), reset (c4), moved (c5)
begin;
\ir act_as.psql
select plan(89);

-- A token's digest, as the API stores it.
create function pg_temp.digest(token text) returns text
    language sql
    immutable
as $$
    select encode(sha256(convert_to(token, 'utf8')), 'hex')
$$;

-- The SQLSTATE and constraint name a statement fails with.
create function pg_temp.error_of(statement text) returns text
    language plpgsql
as $$
declare
    state text;
    constraint_name text;
begin
    execute statement;
    return 'no error';
exception
    when others then
        get stacked diagnostics state = returned_sqlstate, constraint_name = constraint_name;
        return state || ' ' || coalesce(constraint_name, '');
end;
$$;

-- World, made as the migrating role -----------------------------------------------------

insert into auth.users (id, aud, role, email, created_at, updated_at) values
    ('00000000-0000-0000-0000-0000000000a1', 'authenticated', 'authenticated', 'owner-a@example.com', now(), now()),
    ('00000000-0000-0000-0000-0000000000a2', 'authenticated', 'authenticated', 'admin-a@example.com', now(), now()),
    ('00000000-0000-0000-0000-0000000000a3', 'authenticated', 'authenticated', 'agent-a@example.com', now(), now()),
    ('00000000-0000-0000-0000-0000000000b1', 'authenticated', 'authenticated', 'owner-b@example.com', now(), now()),
    ('00000000-0000-0000-0000-0000000000c1', 'authenticated', 'authenticated', 'known@example.com', now(), now()),
    ('00000000-0000-0000-0000-0000000000c2', 'authenticated', 'authenticated', 'other@example.com', now(), now()),
    ('00000000-0000-0000-0000-0000000000c3', 'authenticated', 'authenticated', 'later@example.com', now(), now()),
    ('00000000-0000-0000-0000-0000000000c4', 'authenticated', 'authenticated', 'reset@example.com', now(), now()),
    ('00000000-0000-0000-0000-0000000000c5', 'authenticated', 'authenticated', 'moved@example.com', now(), now());

insert into public.profiles (id, email, full_name)
select id, email,
       case email when 'owner-a@example.com' then 'Ana Dona'
                  when 'admin-a@example.com' then 'Bruno Admin'
                  else split_part(email, '@', 1) end
from auth.users;

insert into public.organizations (id, name) values
    ('0000000a-0000-0000-0000-000000000000', 'Padaria'),
    ('0000000b-0000-0000-0000-000000000000', 'Oficina');

insert into public.memberships (organization_id, user_id, role) values
    ('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a1', 'owner'),
    ('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a2', 'admin'),
    ('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a3', 'agent'),
    ('0000000b-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000b1', 'owner');

select is_empty(
    $$ select id from public.profiles where email_verified_at is not null $$,
    'accounts start unverified'
);

select pg_temp.act_as_service_role();

-- Inviting: the role rules of memberships ---------------------------------------------

select throws_ok(
    $$ select * from private.invite_member_v2('00000000-0000-0000-0000-0000000000a3', '0000000a-0000-0000-0000-000000000000', 'new@example.com', 'agent', pg_temp.digest('x'), interval '7 days') $$,
    'PT403', 'only owners and admins can invite members', 'an agent cannot invite'
);
select throws_ok(
    $$ select * from private.invite_member_v2('00000000-0000-0000-0000-0000000000a2', '0000000a-0000-0000-0000-000000000000', 'new@example.com', 'owner', pg_temp.digest('x'), interval '7 days') $$,
    'PT403', 'only an owner can make someone an owner', 'an admin cannot invite an owner'
);
select throws_ok(
    $$ select * from private.invite_member_v2('00000000-0000-0000-0000-0000000000b1', '0000000a-0000-0000-0000-000000000000', 'new@example.com', 'agent', pg_temp.digest('x'), interval '7 days') $$,
    'PT404', 'organization not found', 'an owner of another organization cannot invite here'
);
select throws_ok(
    $$ select * from private.invite_member_v2(gen_random_uuid(), '0000000a-0000-0000-0000-000000000000', 'new@example.com', 'agent', pg_temp.digest('x'), interval '7 days') $$,
    'PT404', 'organization not found', 'nor can an actor who is nobody'
);
select throws_ok(
    $$ select * from private.invite_member_v2('00000000-0000-0000-0000-0000000000a2', '0000000a-0000-0000-0000-000000000000', ' Agent-A@Example.COM ', 'agent', pg_temp.digest('x'), interval '7 days') $$,
    'PT409', 'already a member of this organization',
    'an address that is already a member''s, whatever its case, is a conflict'
);
select is(
    pg_temp.error_of($$ select * from private.invite_member_v2('00000000-0000-0000-0000-0000000000a1', '0000000a-0000-0000-0000-000000000000', 'agent-a@example.com', 'admin', pg_temp.digest('x'), interval '7 days') $$),
    'PT409 memberships_organization_user_key',
    'and names the memberships constraint, as a duplicate membership would'
);
select throws_ok(
    $$ select * from private.invite_member_v2('00000000-0000-0000-0000-0000000000a2', '0000000a-0000-0000-0000-000000000000', 'not-an-email', 'agent', pg_temp.digest('x'), interval '7 days') $$,
    '22023', 'not an e-mail address', 'a malformed address is refused'
);
select is_empty(
    $$ select id from public.invitations $$,
    'no refused invitation left a row'
);

create temporary table first_invitation on commit drop as
select * from private.invite_member_v2(
    '00000000-0000-0000-0000-0000000000a2', '0000000a-0000-0000-0000-000000000000',
    ' New.Person@Example.COM ', 'agent', pg_temp.digest('new-1'), interval '7 days'
);
grant select on first_invitation to public;

select results_eq(
    $$ select organization_name, inviter_name from first_invitation $$,
    $$ values ('Padaria', 'Bruno Admin') $$,
    'an admin invites an agent, and learns what the mail needs: organization and inviter'
);
select results_eq(
    $$ select i.email, i.role::text, i.invited_by, i.token_hash, i.expires_at = now() + interval '7 days',
              i.accepted_at is null and i.revoked_at is null
       from public.invitations as i join first_invitation as f on f.invitation_id = i.id $$,
    $$ values ('new.person@example.com', 'agent', '00000000-0000-0000-0000-0000000000a2'::uuid,
               pg_temp.digest('new-1'), true, true) $$,
    'the invitation keeps the address trimmed and lowercased, the role, the inviter and the digest'
);
select is(
    (select invitation_id from private.invite_member_v2(
        '00000000-0000-0000-0000-0000000000a1', '0000000a-0000-0000-0000-000000000000',
        'new.person@example.com', 'admin', pg_temp.digest('new-2'), interval '14 days')),
    (select invitation_id from first_invitation),
    'inviting the same address again renews the same invitation'
);
select results_eq(
    $$ select id, role::text, invited_by, token_hash, expires_at = now() + interval '14 days'
       from public.invitations where email = 'new.person@example.com' $$,
    $$ select invitation_id, 'admin', '00000000-0000-0000-0000-0000000000a1'::uuid,
              pg_temp.digest('new-2'), true
       from first_invitation $$,
    'with the new token, role, inviter and expiry, and no second row'
);
select throws_ok(
    $$ select private.invitation_email_v1(pg_temp.digest('new-1')) $$,
    'PT404', null, 'the earlier link stops working'
);
select is(
    private.invitation_email_v1(pg_temp.digest('new-2')),
    'new.person@example.com',
    'the latest link tells the address it was mailed to'
);
select throws_ok(
    $$ select private.invitation_email_v1(pg_temp.digest('never issued')) $$,
    'PT404', null, 'an unknown link tells nothing'
);
select results_eq(
    $$ select organization_name, inviter_name from private.invite_member_v2(
        '00000000-0000-0000-0000-0000000000b1', '0000000b-0000-0000-0000-000000000000',
        'new.person@example.com', 'agent', pg_temp.digest('new-b'), interval '7 days') $$,
    $$ values ('Oficina', 'owner-b') $$,
    'another organization invites the same address'
);
select is(
    (select count(*)::int from public.invitations where email = 'new.person@example.com'),
    2,
    'with an invitation of its own'
);

-- Revoking ---------------------------------------------------------------------------

create temporary table invited on commit drop as
select 'boss' as name, invitation_id from private.invite_member_v2(
    '00000000-0000-0000-0000-0000000000a1', '0000000a-0000-0000-0000-000000000000',
    'boss@example.com', 'owner', pg_temp.digest('boss-1'), interval '7 days')
union all
select 'helper', invitation_id from private.invite_member_v2(
    '00000000-0000-0000-0000-0000000000a2', '0000000a-0000-0000-0000-000000000000',
    'helper@example.com', 'admin', pg_temp.digest('helper-1'), interval '7 days');
grant select on invited to public;

select throws_ok(
    $$ select private.revoke_invitation_v1('00000000-0000-0000-0000-0000000000a2', (select invitation_id from invited where name = 'boss')) $$,
    'PT403', 'only an owner can revoke an owner''s invitation',
    'an admin cannot revoke an owner''s invitation'
);
select throws_ok(
    $$ select private.revoke_invitation_v1('00000000-0000-0000-0000-0000000000a3', (select invitation_id from invited where name = 'helper')) $$,
    'PT404', 'invitation not found', 'to an agent, an invitation is not found'
);
select throws_ok(
    $$ select private.revoke_invitation_v1('00000000-0000-0000-0000-0000000000b1', (select invitation_id from invited where name = 'helper')) $$,
    'PT404', 'invitation not found', 'nor to an owner of another organization'
);
select throws_ok(
    $$ select private.revoke_invitation_v1('00000000-0000-0000-0000-0000000000a1', gen_random_uuid()) $$,
    'PT404', 'invitation not found', 'an unknown invitation is not found'
);
select ok(
    (private.revoke_invitation_v1('00000000-0000-0000-0000-0000000000a2',
        (select invitation_id from invited where name = 'helper'))).revoked_at is not null,
    'an admin revokes an admin''s invitation'
);
select ok(
    (private.revoke_invitation_v1('00000000-0000-0000-0000-0000000000a1',
        (select invitation_id from invited where name = 'boss'))).revoked_at is not null,
    'an owner revokes an owner''s invitation'
);
select throws_ok(
    $$ select private.revoke_invitation_v1('00000000-0000-0000-0000-0000000000a1', (select invitation_id from invited where name = 'boss')) $$,
    'PT404', 'invitation not found', 'a revoked invitation cannot be revoked again'
);
select throws_ok(
    $$ select private.invitation_email_v1(pg_temp.digest('boss-1')) $$,
    'PT404', null, 'a revoked invitation''s link stops working'
);
select isnt(
    (select invitation_id from private.invite_member_v2(
        '00000000-0000-0000-0000-0000000000a1', '0000000a-0000-0000-0000-000000000000',
        'boss@example.com', 'owner', pg_temp.digest('boss-2'), interval '7 days')),
    (select invitation_id from invited where name = 'boss'),
    'inviting a revoked address again is a new invitation, the revoked one stays on record'
);

-- Accepting ------------------------------------------------------------------------------

select results_eq(
    $$ select count(*)::int from (
        select * from private.invite_member_v2('00000000-0000-0000-0000-0000000000a1', '0000000a-0000-0000-0000-000000000000', 'known@example.com', 'admin', pg_temp.digest('known-1'), interval '7 days')
        union all
        select * from private.invite_member_v2('00000000-0000-0000-0000-0000000000b1', '0000000b-0000-0000-0000-000000000000', 'other@example.com', 'agent', pg_temp.digest('late-1'), interval '-1 second')
        union all
        select * from private.invite_member_v2('00000000-0000-0000-0000-0000000000a1', '0000000a-0000-0000-0000-000000000000', 'other@example.com', 'agent', pg_temp.digest('revoked-1'), interval '7 days')
        union all
        select * from private.invite_member_v2('00000000-0000-0000-0000-0000000000a1', '0000000a-0000-0000-0000-000000000000', 'later@example.com', 'admin', pg_temp.digest('later-1'), interval '7 days')
        union all
        select * from private.invite_member_v2('00000000-0000-0000-0000-0000000000a2', '0000000a-0000-0000-0000-000000000000', 'fresh@example.com', 'agent', pg_temp.digest('fresh-1'), interval '7 days')
    ) as made $$,
    $$ values (5) $$,
    'invitations to accept: known (admin), other (expired, and revoked), later, fresh'
);
select ok(
    (private.revoke_invitation_v1('00000000-0000-0000-0000-0000000000a1',
        (select id from public.invitations where token_hash = pg_temp.digest('revoked-1')))).revoked_at is not null,
    'other''s invitation into Padaria is revoked'
);

select throws_ok(
    $$ select * from private.accept_invitation_v2(pg_temp.digest('known-1'), '00000000-0000-0000-0000-0000000000c2') $$,
    'PT404', 'invitation not found, expired or already used',
    'a user whose address the invitation was not sent to cannot accept it'
);
select is(
    private.invitation_email_v1(pg_temp.digest('known-1')),
    'known@example.com',
    'and the invitation stays open'
);
select throws_ok(
    $$ select * from private.accept_invitation_v2(pg_temp.digest('late-1'), '00000000-0000-0000-0000-0000000000c2') $$,
    'PT404', 'invitation not found, expired or already used', 'an expired invitation cannot be accepted'
);
select throws_ok(
    $$ select private.invitation_email_v1(pg_temp.digest('late-1')) $$,
    'PT404', null, 'nor tells its address'
);
select throws_ok(
    $$ select * from private.accept_invitation_v2(pg_temp.digest('revoked-1'), '00000000-0000-0000-0000-0000000000c2') $$,
    'PT404', 'invitation not found, expired or already used', 'a revoked invitation cannot be accepted'
);
select is_empty(
    $$ select m.id from public.memberships as m
       where m.user_id = '00000000-0000-0000-0000-0000000000c2'
       union all
       select p.id from public.profiles as p
       where p.id = '00000000-0000-0000-0000-0000000000c2' and p.email_verified_at is not null $$,
    'refused acceptances make no membership and verify no address'
);

create temporary table accepted on commit drop as
select * from private.accept_invitation_v2(pg_temp.digest('known-1'), '00000000-0000-0000-0000-0000000000c1');
grant select on accepted to public;

select results_eq(
    $$ select a.invitation_id, a.organization_id, a.email, a.role from accepted as a $$,
    $$ select i.id, '0000000a-0000-0000-0000-000000000000'::uuid, 'known@example.com', 'admin'
       from public.invitations as i where i.token_hash = pg_temp.digest('known-1') $$,
    'the invited address''s account accepts the invitation'
);
select results_eq(
    $$ select m.id, m.role::text from public.memberships as m
       where m.organization_id = '0000000a-0000-0000-0000-000000000000'
         and m.user_id = '00000000-0000-0000-0000-0000000000c1' $$,
    $$ select membership_id, 'admin' from accepted $$,
    'and becomes a member with the invited role'
);
select ok(
    (select email_verified_at is not null from public.profiles
     where id = '00000000-0000-0000-0000-0000000000c1'),
    'accepting verifies the address: the token proves its holder reads it'
);
select results_eq(
    $$ select accepted_at is not null, accepted_by from public.invitations
       where token_hash = pg_temp.digest('known-1') $$,
    $$ values (true, '00000000-0000-0000-0000-0000000000c1'::uuid) $$,
    'the invitation records who accepted it, and when'
);
select throws_ok(
    $$ select * from private.accept_invitation_v2(pg_temp.digest('known-1'), '00000000-0000-0000-0000-0000000000c1') $$,
    'PT404', 'invitation not found, expired or already used', 'an invitation is accepted once'
);
select throws_ok(
    $$ select private.revoke_invitation_v1('00000000-0000-0000-0000-0000000000a1', (select invitation_id from accepted)) $$,
    'PT404', 'invitation not found', 'an accepted invitation cannot be revoked'
);
select throws_ok(
    $$ select * from private.invite_member_v2('00000000-0000-0000-0000-0000000000a1', '0000000a-0000-0000-0000-000000000000', 'known@example.com', 'agent', pg_temp.digest('known-2'), interval '7 days') $$,
    'PT409', null, 'the new member''s address cannot be invited again'
);

-- Someone who became a member another way meanwhile: the invitation is spent.
select pg_temp.reset_role();
insert into public.memberships (organization_id, user_id, role) values
    ('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000c3', 'agent');
select pg_temp.act_as_service_role();

select results_eq(
    $$ select a.membership_id, m.role::text
       from private.accept_invitation_v2(pg_temp.digest('later-1'), '00000000-0000-0000-0000-0000000000c3') as a
       join public.memberships as m on m.id = a.membership_id $$,
    $$ select id, 'agent' from public.memberships
       where user_id = '00000000-0000-0000-0000-0000000000c3' $$,
    'a member already keeps their membership, and the invitation is spent'
);

-- A person new to Atende: the platform reserves the address, the identity provider makes
-- the user, and accepting makes the profile.
select throws_ok(
    $$ select * from private.accept_invitation_v2(pg_temp.digest('fresh-1'), gen_random_uuid(), 'Fresh Person') $$,
    'PT404', 'no account is pending for this invitation',
    'a new user needs a reservation made for the invitation'
);

create temporary table reservations on commit drop as
select 'registration' as name, private.reserve_user_v1('fresh@example.com', 'registration') as user_id
union all
select 'elsewhere', private.reserve_user_v1('elsewhere@example.com', 'invitation');
grant select on reservations to public;

select throws_ok(
    $$ select * from private.accept_invitation_v2(pg_temp.digest('fresh-1'), (select user_id from reservations where name = 'registration'), 'Fresh Person') $$,
    'PT404', 'no account is pending for this invitation',
    'a reservation for a registration does not serve an invitation'
);
select throws_ok(
    $$ select * from private.accept_invitation_v2(pg_temp.digest('fresh-1'), (select user_id from reservations where name = 'elsewhere'), 'Fresh Person') $$,
    'PT404', 'no account is pending for this invitation',
    'nor does a reservation for another address'
);
select ok(
    private.release_pending_user_v1((select user_id from reservations where name = 'registration')),
    'the registration''s reservation is released'
);

insert into reservations
select 'fresh', private.reserve_user_v1('fresh@example.com', 'invitation');

-- What the identity provider does between the two steps.
select pg_temp.reset_role();
insert into auth.users (id, aud, role, email, created_at, updated_at)
select user_id, 'authenticated', 'authenticated', 'fresh@example.com', now(), now()
from reservations where name = 'fresh';
select pg_temp.act_as_service_role();

select results_eq(
    $$ select email, role from private.accept_invitation_v2(pg_temp.digest('fresh-1'), (select user_id from reservations where name = 'fresh'), '  Fresh Person ') $$,
    $$ values ('fresh@example.com', 'agent') $$,
    'the new user reserved for the invitation accepts it'
);
select results_eq(
    $$ select p.email, p.full_name, p.email_verified_at is not null, m.role::text
       from public.profiles as p
       join public.memberships as m on m.user_id = p.id
       where p.id = (select user_id from reservations where name = 'fresh') $$,
    $$ values ('fresh@example.com', 'Fresh Person', true, 'agent') $$,
    'with a verified profile of the chosen name, and the invited role'
);
select is_empty(
    $$ select user_id from private.pending_users where email = 'fresh@example.com' $$,
    'and the reservation is done with'
);

-- Account tokens: e-mail verification ------------------------------------------------------

select is(
    private.issue_account_token_v1('00000000-0000-0000-0000-0000000000c2', 'verify_email', pg_temp.digest('verify-1'), interval '1 day'),
    'other@example.com',
    'issuing a token answers the address to mail it to'
);
select results_eq(
    $$ select user_id, purpose, email, expires_at = now() + interval '1 day', used_at is null
       from private.account_tokens where token_hash = pg_temp.digest('verify-1') $$,
    $$ values ('00000000-0000-0000-0000-0000000000c2'::uuid, 'verify_email', 'other@example.com', true, true) $$,
    'the token is kept by its digest, with its user, purpose, address and expiry'
);
select is(
    private.issue_account_token_v1('00000000-0000-0000-0000-0000000000c2', 'verify_email', pg_temp.digest('verify-2'), interval '1 day'),
    'other@example.com',
    'a second verification mail'
);
select throws_ok(
    $$ select * from private.use_account_token_v1(pg_temp.digest('verify-1'), 'verify_email') $$,
    'PT404', 'token not found, expired or already used',
    'issuing a token stops the earlier unused ones of its purpose'
);
select throws_ok(
    $$ select private.issue_account_token_v1(gen_random_uuid(), 'verify_email', pg_temp.digest('nobody'), interval '1 day') $$,
    'PT404', 'user not found', 'there is no token for a user who does not exist'
);
select is(
    private.issue_password_reset_v1(' OTHER@Example.com ', pg_temp.digest('reset-other'), interval '1 hour'),
    '00000000-0000-0000-0000-0000000000c2'::uuid,
    'a reset is issued for the account of an address, whatever its case'
);
select ok(
    (select used_at is null from private.account_tokens where token_hash = pg_temp.digest('verify-2')),
    'a token of another purpose leaves the verification token alone'
);
select throws_ok(
    $$ select * from private.use_account_token_v1(pg_temp.digest('verify-2'), 'reset_password') $$,
    'PT404', 'token not found, expired or already used', 'a token serves only its own purpose'
);
select ok(
    (select email_verified_at is null from public.profiles where id = '00000000-0000-0000-0000-0000000000c2'),
    'a refused token verifies nothing'
);
select results_eq(
    $$ select user_id, email from private.use_account_token_v1(pg_temp.digest('verify-2'), 'verify_email') $$,
    $$ values ('00000000-0000-0000-0000-0000000000c2'::uuid, 'other@example.com') $$,
    'the latest verification token is used, for its user and address'
);
select ok(
    (select email_verified_at is not null from public.profiles where id = '00000000-0000-0000-0000-0000000000c2'),
    'and verifies the address'
);
select throws_ok(
    $$ select * from private.use_account_token_v1(pg_temp.digest('verify-2'), 'verify_email') $$,
    'PT404', 'token not found, expired or already used', 'a token is used once'
);
select is(
    private.issue_account_token_v1('00000000-0000-0000-0000-0000000000c1', 'verify_email', pg_temp.digest('expired-1'), interval '-1 second'),
    'known@example.com',
    'a token issued already expired'
);
select throws_ok(
    $$ select * from private.use_account_token_v1(pg_temp.digest('expired-1'), 'verify_email') $$,
    'PT404', 'token not found, expired or already used', 'an expired token cannot be used'
);

-- The address changed after the mail: the token is used, but verifies nothing.
select is(
    private.issue_account_token_v1('00000000-0000-0000-0000-0000000000c5', 'verify_email', pg_temp.digest('moved-1'), interval '1 day'),
    'moved@example.com',
    'a token mailed to an address'
);
select pg_temp.reset_role();
update public.profiles set email = 'moved-elsewhere@example.com' where id = '00000000-0000-0000-0000-0000000000c5';
select pg_temp.act_as_service_role();
select results_eq(
    $$ select u.email, p.email_verified_at is null
       from private.use_account_token_v1(pg_temp.digest('moved-1'), 'verify_email') as u
       join public.profiles as p on p.id = u.user_id $$,
    $$ values ('moved@example.com', true) $$,
    'verifies that address only: not the one the account has since'
);

-- Account tokens: password reset -----------------------------------------------------------

select is(
    private.issue_password_reset_v1('nobody@example.com', pg_temp.digest('reset-nobody'), interval '1 hour'),
    null,
    'a reset for an address nobody has answers null'
);
select is_empty(
    $$ select token_hash from private.account_tokens where token_hash = pg_temp.digest('reset-nobody') $$,
    'and issues nothing'
);
select is(
    private.issue_password_reset_v1('reset@example.com', pg_temp.digest('reset-1'), interval '1 hour'),
    '00000000-0000-0000-0000-0000000000c4'::uuid,
    'a reset for an account''s address'
);
select results_eq(
    $$ select user_id, email from private.use_account_token_v1(pg_temp.digest('reset-1'), 'reset_password') $$,
    $$ values ('00000000-0000-0000-0000-0000000000c4'::uuid, 'reset@example.com') $$,
    'the reset token is used'
);
select ok(
    (select email_verified_at is not null from public.profiles where id = '00000000-0000-0000-0000-0000000000c4'),
    'a reset link verifies the address too'
);
select throws_ok(
    $$ select * from private.use_account_token_v1(pg_temp.digest('reset-1'), 'reset_password') $$,
    'PT404', null, 'a used reset token cannot be used again'
);
select lives_ok(
    $$ select private.unuse_account_token_v1(pg_temp.digest('reset-1')) $$,
    'when setting the password fails, the platform gives the token back'
);
select results_eq(
    $$ select user_id from private.use_account_token_v1(pg_temp.digest('reset-1'), 'reset_password') $$,
    $$ values ('00000000-0000-0000-0000-0000000000c4'::uuid) $$,
    'and the same link works on the next try'
);

-- now() stands still in this transaction, and the API issues each token in a transaction
-- of its own: reset-1 is made a minute older than the one issued next.
select pg_temp.reset_role();
update private.account_tokens set created_at = created_at - interval '1 minute'
where token_hash = pg_temp.digest('reset-1');
select pg_temp.act_as_service_role();

select is(
    private.issue_password_reset_v1('reset@example.com', pg_temp.digest('reset-2'), interval '1 hour'),
    '00000000-0000-0000-0000-0000000000c4'::uuid,
    'a newer reset is issued'
);
select private.unuse_account_token_v1(pg_temp.digest('reset-1'));
select throws_ok(
    $$ select * from private.use_account_token_v1(pg_temp.digest('reset-1'), 'reset_password') $$,
    'PT404', null, 'a token is not given back once a newer one of its purpose was issued'
);
select results_eq(
    $$ select user_id from private.use_account_token_v1(pg_temp.digest('reset-2'), 'reset_password') $$,
    $$ values ('00000000-0000-0000-0000-0000000000c4'::uuid) $$,
    'the newer one works'
);
select private.unuse_account_token_v1(pg_temp.digest('expired-1'));
select ok(
    (select used_at is null and expires_at < now() from private.account_tokens
     where token_hash = pg_temp.digest('expired-1')),
    'an expired token stays unused and expired'
);
select is(
    private.purge_account_tokens_v1(interval '0'),
    1,
    'purging deletes the tokens expired for longer than keep'
);
select is_empty(
    $$ select token_hash from private.account_tokens where expires_at < now() $$,
    'and only those'
);

-- Ending a user's other sessions ------------------------------------------------------------

create temporary table started on commit drop as
select v.name, private.start_session_v1(v.user_id, pg_temp.digest('refresh-' || v.name), interval '30 days') as id
from (values
    ('kept', '00000000-0000-0000-0000-0000000000c2'::uuid),
    ('phone', '00000000-0000-0000-0000-0000000000c2'::uuid),
    ('laptop', '00000000-0000-0000-0000-0000000000c2'::uuid),
    ('signed-out', '00000000-0000-0000-0000-0000000000c2'::uuid),
    ('someone-else', '00000000-0000-0000-0000-0000000000c1'::uuid)
) as v (name, user_id);
grant select on started to public;

select ok(
    private.revoke_session_v1((select id from started where name = 'signed-out')),
    'one session was signed out before'
);
select results_eq(
    $$ select s from private.end_other_sessions_v1('00000000-0000-0000-0000-0000000000c2', (select id from started where name = 'kept')) as s order by 1 $$,
    $$ select id from started where name in ('phone', 'laptop') order by 1 $$,
    'ending the other sessions answers the ones it ended'
);
select results_eq(
    $$ select st.name, s.revoked_reason from started as st
       join private.sessions as s on s.id = st.id order by st.name $$,
    $$ values ('kept', null), ('laptop', 'password_change'), ('phone', 'password_change'),
              ('signed-out', 'sign_out'), ('someone-else', null) $$,
    'the named session stays, the others end for a password change, other users'' are untouched'
);
select is(
    (select outcome from private.refresh_session_v1(
        pg_temp.digest('refresh-phone'), pg_temp.digest('refresh-phone-2'), interval '30 days')),
    'invalid',
    'an ended session cannot be refreshed'
);
select results_eq(
    $$ select s from private.end_other_sessions_v1('00000000-0000-0000-0000-0000000000c2', null) as s $$,
    $$ select id from started where name = 'kept' $$,
    'with no session kept (a reset), every session ends'
);

-- Nobody but the platform reads the tokens ------------------------------------------------

select pg_temp.reset_role();

select ok(
    (select relrowsecurity from pg_class where oid = 'private.account_tokens'::regclass),
    'row-level security is on for private.account_tokens'
);
select is_empty(
    $$ select r.role_name, p.privilege
       from unnest(array['anon', 'authenticated', 'public']) as r (role_name)
       cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) as p (privilege)
       where has_table_privilege(r.role_name, 'private.account_tokens', p.privilege)
          or (p.privilege in ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
              and has_any_column_privilege(r.role_name, 'private.account_tokens', p.privilege)) $$,
    'no client role holds any privilege on it, not even on a column'
);

select pg_temp.act_as('00000000-0000-0000-0000-0000000000c2');
select throws_ok(
    $$ select token_hash from private.account_tokens $$,
    '42501', null, 'a signed-in user cannot read account tokens, not even their own'
);
select pg_temp.act_as_anon();
select throws_ok(
    $$ select token_hash from private.account_tokens $$,
    '42501', null, 'nor can an anonymous caller'
);

select * from finish();
rollback;
