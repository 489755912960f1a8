-- The role rules of memberships and the isolation of invitations and memberships, acted
-- out by users of two organizations through the RPC functions and the tables themselves.
--
--   Padaria (a):  owner_a (owner), admin_a (admin), agent_a (agent), target_a (agent)
--   Oficina (b):  owner_b (owner)
--   outsider:     a user of Atende in no organization
begin;
\ir act_as.psql
select plan(44);

-- World, made as the migrating role -----------------------------------------------------

insert into auth.users (id, aud, role, email, created_at, updated_at) values
    ('00000000-0000-0000-0000-0000000000a1', 'authenticated', 'authenticated', 'owner-a@example.com', now(), now()),
    ('00000000-0000-0000-0000-0000000000a2', 'authenticated', 'authenticated', 'admin-a@example.com', now(), now()),
    ('00000000-0000-0000-0000-0000000000a3', 'authenticated', 'authenticated', 'agent-a@example.com', now(), now()),
    ('00000000-0000-0000-0000-0000000000a4', 'authenticated', 'authenticated', 'target-a@example.com', now(), now()),
    ('00000000-0000-0000-0000-0000000000b1', 'authenticated', 'authenticated', 'owner-b@example.com', now(), now()),
    ('00000000-0000-0000-0000-0000000000c1', 'authenticated', 'authenticated', 'outsider@example.com', now(), now());

insert into public.profiles (id, email, full_name)
select id, email, split_part(email, '@', 1) from auth.users;

insert into public.organizations (id, name) values
    ('0000000a-0000-0000-0000-000000000000', 'Padaria'),
    ('0000000b-0000-0000-0000-000000000000', 'Oficina');

insert into public.memberships (organization_id, user_id, role) values
    ('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a1', 'owner'),
    ('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a2', 'admin'),
    ('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a3', 'agent'),
    ('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a4', 'agent'),
    ('0000000b-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000b1', 'owner');

insert into public.invitations (organization_id, user_id, invited_by, token_hash, expires_at)
values (
    '0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a4',
    '00000000-0000-0000-0000-0000000000a1', encode(sha256('token-a'::bytea), 'hex'),
    now() + interval '7 days'
);

-- Agents manage nobody -------------------------------------------------------------------

select pg_temp.act_as('00000000-0000-0000-0000-0000000000a3');

select throws_ok(
    $$ select public.update_member_role_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a4', 'admin') $$,
    'PT403', null, 'an agent cannot change roles'
);
select throws_ok(
    $$ select public.remove_member_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a4') $$,
    'PT403', null, 'an agent cannot remove others'
);
select throws_ok(
    $$ select * from public.invite_member_v1('0000000a-0000-0000-0000-000000000000', 'new@example.com', 'agent', repeat('0', 64)) $$,
    'PT403', null, 'an agent cannot invite'
);
select is_empty(
    $$ select id from public.invitations $$,
    'an agent cannot read the invitations of their organization'
);

-- Admins manage members but not owners -----------------------------------------------

select pg_temp.act_as('00000000-0000-0000-0000-0000000000a2');

select is(
    (public.update_member_role_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a4', 'admin')).role,
    'admin'::public.membership_role,
    'an admin can make an agent an admin'
);
select throws_ok(
    $$ select public.update_member_role_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a4', 'owner') $$,
    'PT403', 'only an owner can make someone an owner', 'an admin cannot make an owner'
);
select throws_ok(
    $$ select public.update_member_role_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a1', 'admin') $$,
    'PT403', null, 'an admin cannot demote an owner'
);
select throws_ok(
    $$ select public.remove_member_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a1') $$,
    'PT403', null, 'an admin cannot remove an owner'
);
select throws_ok(
    $$ select * from public.invite_member_v1('0000000a-0000-0000-0000-000000000000', 'outsider@example.com', 'owner', repeat('0', 64)) $$,
    'PT403', null, 'an admin cannot invite an owner'
);
select throws_ok(
    $$ select public.update_member_role_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000ff', 'agent') $$,
    'PT404', 'member not found', 'changing the role of a non-member is not found'
);
select results_eq(
    $$ select outcome, invitation_id is null from public.invite_member_v1('0000000a-0000-0000-0000-000000000000', ' Outsider@Example.com ', 'agent', repeat('0', 64)) $$,
    $$ values ('invited', true) $$,
    'an admin adds an existing user at once, without an invitation token'
);
select throws_ok(
    $$ select * from public.invite_member_v1('0000000a-0000-0000-0000-000000000000', 'outsider@example.com', 'admin', repeat('0', 64)) $$,
    'PT409', null, 'inviting a member twice is a conflict'
);
select results_eq(
    $$ select outcome from public.invite_member_v1('0000000a-0000-0000-0000-000000000000', 'new@example.com', 'agent', repeat('0', 64)) $$,
    $$ values ('needs_account') $$,
    'inviting an unknown e-mail asks the platform to create the account first'
);
select throws_ok(
    $$ select * from public.invite_member_v1('0000000a-0000-0000-0000-000000000000', 'not-an-email', 'agent', repeat('0', 64)) $$,
    '22023', null, 'a malformed e-mail is refused'
);
select throws_ok(
    $$ select * from public.invite_member_v1('0000000a-0000-0000-0000-000000000000', 'x@example.com', 'agent', repeat('0', 64), gen_random_uuid()) $$,
    'PT404', null, 'a caller cannot attach an account the platform did not reserve for the invitation'
);
select is(
    (select count(*)::int from public.invitations),
    1,
    'an admin reads their organization''s invitations'
);
select lives_ok(
    $$ select public.remove_member_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a4') $$,
    'an admin can remove an admin'
);
select is_empty(
    $$ select id from public.invitations $$,
    'removing a member withdraws their invitation'
);
select throws_ok(
    $$ select public.update_member_role_v1('0000000b-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000b1', 'agent') $$,
    'PT404', 'organization not found', 'an admin of one organization cannot touch another'
);
select throws_ok(
    $$ select * from public.invite_member_v1('0000000b-0000-0000-0000-000000000000', 'intruder@example.com', 'agent', repeat('0', 64)) $$,
    'PT404', null, 'nor invite into another'
);

-- Owners make owners; an organization keeps one ----------------------------------------

select pg_temp.act_as('00000000-0000-0000-0000-0000000000a1');

select throws_ok(
    $$ select public.remove_member_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a1') $$,
    'PT409', 'an organization must keep at least one owner', 'the last owner cannot leave'
);
select throws_ok(
    $$ select public.update_member_role_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a1', 'admin') $$,
    'PT409', null, 'the last owner cannot step down'
);
select is(
    (public.update_member_role_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a2', 'owner')).role,
    'owner'::public.membership_role,
    'an owner can make an owner'
);
select is(
    (public.update_member_role_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a1', 'agent')).role,
    'agent'::public.membership_role,
    'with another owner, an owner can step down'
);

-- Anyone may leave -----------------------------------------------------------------------

select pg_temp.act_as('00000000-0000-0000-0000-0000000000a3');

select lives_ok(
    $$ select public.remove_member_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a3') $$,
    'an agent can leave'
);
select is_empty(
    $$ select id from public.organizations $$,
    'after leaving, the organization is out of sight'
);

-- Cross-tenant: owner_b against Padaria's rows --------------------------------------------

select pg_temp.reset_role();
insert into public.memberships (organization_id, user_id, role) values
    ('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a4', 'agent');
insert into public.invitations (organization_id, user_id, token_hash, expires_at)
values (
    '0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a4',
    encode(sha256('token-a2'::bytea), 'hex'), now() + interval '7 days'
);

select pg_temp.act_as('00000000-0000-0000-0000-0000000000b1');

select is_empty(
    $$ select id from public.memberships where organization_id = '0000000a-0000-0000-0000-000000000000' $$,
    'another organization''s memberships are invisible'
);
select is_empty(
    $$ select id from public.invitations where organization_id = '0000000a-0000-0000-0000-000000000000' $$,
    'another organization''s invitations are invisible'
);
select throws_ok(
    $$ insert into public.memberships (organization_id, user_id, role) values ('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000b1', 'owner') $$,
    '42501', null, 'nobody inserts memberships directly'
);
select throws_ok(
    $$ update public.memberships set role = 'owner' where organization_id = '0000000a-0000-0000-0000-000000000000' $$,
    '42501', null, 'nobody updates memberships directly'
);
select throws_ok(
    $$ delete from public.memberships where organization_id = '0000000a-0000-0000-0000-000000000000' $$,
    '42501', null, 'nobody deletes memberships directly'
);
select throws_ok(
    $$ insert into public.invitations (organization_id, user_id, token_hash, expires_at) values ('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000b1', repeat('1', 64), now()) $$,
    '42501', null, 'nobody inserts invitations directly'
);
select throws_ok(
    $$ update public.invitations set accepted_at = now() $$,
    '42501', null, 'nobody updates invitations directly'
);
select throws_ok(
    $$ delete from public.invitations $$,
    '42501', null, 'nobody deletes invitations directly'
);
select throws_ok(
    $$ select token_hash from public.invitations $$,
    '42501', null, 'no client reads invitation token digests, not even in its own organization'
);
select throws_ok(
    $$ select public.remove_member_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a4') $$,
    'PT404', null, 'an owner of another organization cannot remove members here'
);

-- The platform's functions and tables are out of clients' reach ------------------------

select throws_ok(
    $$ select private.reserve_user_v1('x@example.com', 'registration') $$,
    '42501', null, 'clients cannot reserve users'
);
select throws_ok(
    $$ select private.register_organization_v1(gen_random_uuid(), 'x', 'y') $$,
    '42501', null, 'clients cannot register organizations without the identity provider'
);
select throws_ok(
    $$ select * from private.claim_invitation_v1(repeat('0', 64), 'x') $$,
    '42501', null, 'clients cannot claim invitations'
);
select throws_ok(
    $$ select * from private.sessions $$,
    '42501', null, 'clients cannot read sessions'
);

select pg_temp.act_as_anon();

select throws_ok(
    $$ select * from public.invite_member_v1('0000000a-0000-0000-0000-000000000000', 'x@example.com', 'agent', repeat('0', 64)) $$,
    '42501', null, 'anonymous callers cannot invite'
);
select throws_ok(
    $$ select public.update_member_role_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a4', 'owner') $$,
    '42501', null, 'anonymous callers cannot change roles'
);

-- The deferred rule behind the functions -------------------------------------------------

select pg_temp.reset_role();
set constraints all immediate;
select throws_ok(
    $$ delete from public.memberships where organization_id = '0000000b-0000-0000-0000-000000000000' $$,
    '23514', 'an organization must keep at least one owner',
    'even the platform cannot leave an organization without an owner'
);
select lives_ok(
    $$ delete from public.organizations where id = '0000000b-0000-0000-0000-000000000000' $$,
    'deleting an organization takes its memberships with it'
);

select * from finish();
rollback;
