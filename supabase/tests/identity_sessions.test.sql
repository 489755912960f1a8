-- The platform's side of identity, as the service role: the registration saga's
-- reservations, and sessions with rotating refresh tokens.
begin;
\ir act_as.psql
select plan(26);

select pg_temp.act_as_service_role();

-- Registration ---------------------------------------------------------------------------

create temporary table reserved on commit drop as
select private.reserve_user_v1(' Dona.Maria@Example.com ', 'registration') as user_id;
grant select on reserved to public;

select is(
    (select email from private.pending_users),
    'dona.maria@example.com',
    'a reservation keeps the e-mail trimmed and lowercased'
);
select throws_ok(
    $$ select private.reserve_user_v1('DONA.MARIA@example.com', 'invitation') $$,
    '23505', null, 'one e-mail cannot be reserved twice at once'
);
select throws_ok(
    $$ select private.reserve_user_v1('not an e-mail', 'registration') $$,
    '22023', null, 'a malformed e-mail cannot be reserved'
);
select throws_ok(
    $$ select private.register_organization_v1((select user_id from reserved), 'Padaria', 'Maria') $$,
    '23503', null, 'the organization waits for the identity provider''s user'
);

-- What the identity provider does between the two steps.
select pg_temp.reset_role();
insert into auth.users (id, aud, role, email, created_at, updated_at)
select user_id, 'authenticated', 'authenticated', 'dona.maria@example.com', now(), now()
from reserved;
select pg_temp.act_as_service_role();

select throws_ok(
    $$ select private.register_organization_v1((select user_id from reserved), '   ', 'Maria') $$,
    '22023', 'must not be empty', 'an empty organization name is refused'
);
select is(
    (private.register_organization_v1((select user_id from reserved), ' Padaria Pão Quente ', 'Maria')).name,
    'Padaria Pão Quente',
    'registering creates the organization'
);
select results_eq(
    $$ select m.role::text, p.email from public.memberships as m
       join public.profiles as p on p.id = m.user_id $$,
    $$ values ('owner', 'dona.maria@example.com') $$,
    'with its owner and the owner''s profile'
);
select is_empty(
    $$ select user_id from private.pending_users $$,
    'and the reservation is done with'
);
select throws_ok(
    $$ select private.reserve_user_v1('dona.maria@EXAMPLE.com', 'registration') $$,
    '23505', 'e-mail already registered', 'a registered e-mail cannot be reserved, whatever its case'
);
select ok(
    not private.release_pending_user_v1(gen_random_uuid()),
    'releasing an unknown reservation is harmless'
);

-- A flow that gave up on a provider that never answered abandons its reservation.
select private.reserve_user_v1('late@example.com', 'registration') is not null as reserved;
select ok(
    private.release_pending_user_v1(
        (select user_id from private.pending_users where email = 'late@example.com'), true),
    'abandoning a reservation keeps its record'
);
select lives_ok(
    $$ select private.reserve_user_v1('late@example.com', 'registration') $$,
    'an abandoned reservation no longer holds its e-mail'
);
select is(
    (select count(*)::int from private.abandoned_pending_users_v1(interval '1 hour', interval '-1 minute')),
    1,
    'the upkeep job finds the abandoned record, not the live one'
);

-- Sessions ------------------------------------------------------------------------------

create temporary table started on commit drop as
select private.start_session_v1(
    (select user_id from reserved), encode(sha256('refresh-1'::bytea), 'hex'), interval '30 days'
) as session_id;
grant select on started to public;

select results_eq(
    $$ select outcome, email from private.refresh_session_v1(
        encode(sha256('refresh-1'::bytea), 'hex'), encode(sha256('refresh-2'::bytea), 'hex'), interval '30 days') $$,
    $$ values ('refreshed', 'dona.maria@example.com') $$,
    'a current refresh token is traded for a new one'
);
select is(
    (select outcome from private.refresh_session_v1(
        encode(sha256('refresh-2'::bytea), 'hex'), encode(sha256('refresh-3'::bytea), 'hex'), interval '30 days')),
    'refreshed',
    'and the new one works in turn'
);
select is(
    (select outcome from private.refresh_session_v1(
        encode(sha256('unknown'::bytea), 'hex'), encode(sha256('refresh-x'::bytea), 'hex'), interval '30 days')),
    'invalid',
    'an unknown refresh token is invalid'
);
select is(
    (select outcome from private.refresh_session_v1(
        encode(sha256('refresh-1'::bytea), 'hex'), encode(sha256('refresh-4'::bytea), 'hex'), interval '30 days')),
    'reused',
    'presenting a rotated token is reuse'
);
select is(
    (select revoked_reason from private.sessions where id = (select session_id from started)),
    'refresh_token_reuse',
    'reuse revokes the session'
);
select is(
    (select outcome from private.refresh_session_v1(
        encode(sha256('refresh-3'::bytea), 'hex'), encode(sha256('refresh-5'::bytea), 'hex'), interval '30 days')),
    'invalid',
    'so even its latest token stops working'
);

create temporary table second on commit drop as
select private.start_session_v1(
    (select user_id from reserved), encode(sha256('refresh-b1'::bytea), 'hex'), interval '30 days'
) as session_id;
grant select on second to public;

select ok(
    not private.revoke_session_v1((select session_id from second), gen_random_uuid()),
    'a user cannot sign out someone else''s session'
);
select ok(
    private.revoke_session_v1((select session_id from second), (select user_id from reserved)),
    'signing out revokes the session'
);
select ok(
    not private.revoke_session_v1((select session_id from second)),
    'signing out twice changes nothing'
);
select is(
    (select outcome from private.refresh_session_v1(
        encode(sha256('refresh-b1'::bytea), 'hex'), encode(sha256('refresh-b2'::bytea), 'hex'), interval '30 days')),
    'invalid',
    'a signed-out session cannot be refreshed'
);

create temporary table expiring on commit drop as
select private.start_session_v1(
    (select user_id from reserved), encode(sha256('refresh-c1'::bytea), 'hex'), interval '-1 second'
) as session_id;

select is(
    (select outcome from private.refresh_session_v1(
        encode(sha256('refresh-c1'::bytea), 'hex'), encode(sha256('refresh-c2'::bytea), 'hex'), interval '30 days')),
    'invalid',
    'an expired refresh token is invalid'
);
select private.start_session_v1(
    (select user_id from reserved), encode(sha256('refresh-live'::bytea), 'hex'), interval '30 days'
) is not null as live_session_started;

-- now() stands still inside this transaction: a negative `keep` reaches the sessions that
-- died in it.
select is(
    private.purge_sessions_v1(interval '-1 minute'),
    3,
    'dead sessions are purged'
);
select is(
    (select count(*)::int from private.sessions),
    1,
    'live ones are kept'
);

select * from finish();
rollback;
