-- Rate limits (20261207000900_rate_limits.sql): counted per action, key and window, for
-- the platform alone.
begin;
\ir act_as.psql
select plan(9);

select pg_temp.act_as_service_role();

select results_eq(
    $$ select allowed, retry_after_seconds, attempts_in_window
       from private.rate_limit_hit_v1('sign_in', 'k1', 2, interval '15 minutes') $$,
    $$ values (true, 0, 1) $$,
    'the first attempt is allowed'
);
select ok(
    (private.rate_limit_hit_v1('sign_in', 'k1', 2, interval '15 minutes')).allowed,
    'the max-th attempt is allowed'
);
select ok(
    (select not allowed and retry_after_seconds between 1 and 900
     from private.rate_limit_hit_v1('sign_in', 'k1', 2, interval '15 minutes')),
    'the attempt past max is refused, with the seconds until the window ends'
);
select ok(
    (select a.allowed and b.allowed
     from private.rate_limit_hit_v1('sign_in', 'k2', 2, interval '15 minutes') as a,
          private.rate_limit_hit_v1('refresh', 'k1', 2, interval '15 minutes') as b),
    'another key, or another action, counts apart'
);
select throws_ok(
    $$ select private.rate_limit_hit_v1('sign_in', 'k3', 0, interval '15 minutes') $$,
    '22023', null, 'a limit of zero is a mistake'
);

-- Upkeep: only ended windows go.
select pg_temp.reset_role();
insert into private.rate_limit_counters (action, key, window_start, expires_at, attempts)
values ('sign_in', 'old', now() - interval '2 hours', now() - interval '1 hour', 7);
select pg_temp.act_as_service_role();
select is(private.purge_rate_limits_v1(), 1, 'the upkeep deletes ended windows');
select pg_temp.reset_role();
select is(
    (select count(*)::integer from private.rate_limit_counters), 3,
    'and keeps the current ones'
);

select pg_temp.act_as('00000000-0000-0000-0000-000000000001');
select throws_ok(
    $$ select private.rate_limit_hit_v1('sign_in', 'k9', 100, interval '1 minute') $$,
    '42501', null, 'a signed-in client cannot count attempts'
);
select throws_ok(
    $$ select count(*) from private.rate_limit_counters $$,
    '42501', null, 'nor read the counters'
);

select * from finish();
rollback;
