-- The role rules of memberships and the isolation of invitations and memberships, acted
-- out by users of two organizations through the RPC functions and the tables themselves.
-- Invitations are the platform's to write (private.invite_member_v2 and its siblings,
-- tested in accounts.test.sql): here clients only read them, each organization its own.
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

-- Open invitations in both organizations: e-mails and roles, not memberships yet.
insert into public.invitations (organization_id, email, role, invited_by, token_hash, expires_at)
values
    ('0000000a-0000-0000-0000-000000000000', 'new-a@example.com', 'agent',
     '00000000-0000-0000-0000-0000000000a1', encode(sha256('token-a'::bytea), 'hex'),
     now() + interval '7 days'),
    ('0000000a-0000-0000-0000-000000000000', 'boss-a@example.com', 'owner',
     '00000000-0000-0000-0000-0000000000a1', encode(sha256('token-a-owner'::bytea), 'hex'),
     now() + interval '7 days'),
    ('0000000b-0000-0000-0000-000000000000', 'new-b@example.com', 'admin',
     '00000000-0000-0000-0000-0000000000b1', encode(sha256('token-b'::bytea), 'hex'),
     now() + interval '7 days');

-- The platform's invitation and account functions (20261207001100_accounts.sql), each
-- with a call of it (null arguments): a client role must be refused (42501) before any
-- of them runs.
create temporary table platform_functions on commit drop as
select p.oid::regprocedure::text as signature,
       format('select %s(%s)', p.oid::regproc,
              (select string_agg(format('null::%s', t::regtype), ', ' order by n)
               from unnest(p.proargtypes::oid[]) with ordinality as a(t, n))) as call
from pg_proc as p
where p.oid in (
    'private.invite_member_v2(uuid, uuid, text, public.membership_role, text, interval)'::regprocedure,
    'private.revoke_invitation_v1(uuid, uuid)'::regprocedure,
    'private.invitation_email_v1(text)'::regprocedure,
    'private.accept_invitation_v2(text, uuid, text)'::regprocedure,
    'private.issue_account_token_v1(uuid, text, text, interval)'::regprocedure,
    'private.issue_password_reset_v1(text, text, interval)'::regprocedure,
    'private.use_account_token_v1(text, text)'::regprocedure,
    'private.unuse_account_token_v1(text)'::regprocedure,
    'private.purge_account_tokens_v1(interval)'::regprocedure,
    'private.end_other_sessions_v1(uuid, uuid)'::regprocedure,
    'private.role_in(uuid, uuid)'::regprocedure
);
grant select on platform_functions to public;

-- The platform functions the current role is not refused (42501), with what happened.
create function pg_temp.platform_functions_not_refused() returns setof text
    language plpgsql
as $$
declare
    fn record;
begin
    for fn in select * from pg_temp.platform_functions order by signature loop
        begin
            execute fn.call;
            return next fn.signature || ': ran';
        exception
            when insufficient_privilege then
                null;
            when others then
                return next format('%s: %s %s', fn.signature, sqlstate, sqlerrm);
        end;
    end loop;
end;
$$;

select is(
    (select count(*)::int from platform_functions),
    11,
    'the platform''s invitation and account functions are all listed'
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
    $$ select * from private.invite_member_v2('00000000-0000-0000-0000-0000000000a1', '0000000a-0000-0000-0000-000000000000', 'new@example.com', 'agent', repeat('0', 64), interval '7 days') $$,
    '42501', null, 'a client cannot invite, not even naming an owner as the actor'
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
    $$ select public.update_member_role_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000ff', 'agent') $$,
    'PT404', 'member not found', 'changing the role of a non-member is not found'
);
select results_eq(
    $$ select email, role::text, invited_by from public.invitations order by email $$,
    $$ values ('boss-a@example.com', 'owner', '00000000-0000-0000-0000-0000000000a1'::uuid),
              ('new-a@example.com', 'agent', '00000000-0000-0000-0000-0000000000a1'::uuid) $$,
    'an admin reads their organization''s invitations, and only those'
);
select lives_ok(
    $$ select public.remove_member_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a4') $$,
    'an admin can remove an admin'
);
select throws_ok(
    $$ select public.update_member_role_v1('0000000b-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000b1', 'agent') $$,
    'PT404', 'organization not found', 'an admin of one organization cannot touch another'
);

-- Owners make owners; an organization keeps one ----------------------------------------

select pg_temp.act_as('00000000-0000-0000-0000-0000000000a1');

select results_eq(
    $$ select organization_id, email from public.invitations order by email $$,
    $$ values ('0000000a-0000-0000-0000-000000000000'::uuid, 'boss-a@example.com'),
              ('0000000a-0000-0000-0000-000000000000'::uuid, 'new-a@example.com') $$,
    'an owner reads their organization''s invitations, and only those'
);
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
select is_empty(
    $$ select id from public.invitations $$,
    'stepping down to agent, a former owner no longer reads the invitations'
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

select pg_temp.act_as('00000000-0000-0000-0000-0000000000b1');

select is_empty(
    $$ select id from public.memberships where organization_id = '0000000a-0000-0000-0000-000000000000' $$,
    'another organization''s memberships are invisible'
);
select results_eq(
    $$ select organization_id, email from public.invitations order by email $$,
    $$ values ('0000000b-0000-0000-0000-000000000000'::uuid, 'new-b@example.com') $$,
    'another organization''s invitations are invisible: an owner reads only their own'
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
    $$ insert into public.invitations (organization_id, email, role, token_hash, expires_at) values ('0000000b-0000-0000-0000-000000000000', 'x@example.com', 'owner', repeat('1', 64), now() + interval '7 days') $$,
    '42501', null, 'nobody inserts invitations directly, not even an owner into their own organization'
);
select throws_ok(
    $$ update public.invitations set role = 'owner', expires_at = now() + interval '1 year' $$,
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
    $$ select * from private.sessions $$,
    '42501', null, 'clients cannot read sessions'
);
select is_empty(
    $$ select * from pg_temp.platform_functions_not_refused() $$,
    'authenticated cannot execute any of the platform''s invitation and account functions (42501)'
);

select pg_temp.act_as_anon();

select throws_ok(
    $$ select public.update_member_role_v1('0000000a-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000a4', 'owner') $$,
    '42501', null, 'anonymous callers cannot change roles'
);
select throws_ok(
    $$ select id, email from public.invitations $$,
    '42501', null, 'anonymous callers cannot read invitations'
);
select throws_ok(
    $$ insert into public.invitations (organization_id, email, role, token_hash, expires_at) values ('0000000a-0000-0000-0000-000000000000', 'x@example.com', 'owner', repeat('1', 64), now() + interval '7 days') $$,
    '42501', null, 'anonymous callers cannot insert invitations'
);
select throws_ok(
    $$ update public.invitations set revoked_at = now() $$,
    '42501', null, 'anonymous callers cannot update invitations'
);
select throws_ok(
    $$ delete from public.invitations $$,
    '42501', null, 'anonymous callers cannot delete invitations'
);
select is_empty(
    $$ select * from pg_temp.platform_functions_not_refused() $$,
    'anon cannot execute any of the platform''s invitation and account functions (42501)'
);

-- The deferred rule behind the functions -------------------------------------------------

select pg_temp.reset_role();
select is(
    (select count(*)::int from public.invitations),
    3,
    'every invitation is still there after all of the above'
);
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
