-- Each attempt of a webhook delivery (20261207001700_webhook_delivery_attempts.sql):
-- recorded with the delivery's summary, readable by the organization's owners and
-- admins only (never another organization's), written by the platform only, purged after
-- the retention.
begin;
\ir act_as.psql
select plan(11);

create temp table people (label text primary key, id uuid not null default gen_random_uuid());
insert into people (label) values ('dona'), ('atendente'), ('vizinha');
insert into auth.users (id, email, created_at)
select id, label || '@example.com', now() from people;
insert into public.profiles (id, email, full_name)
select id, label || '@example.com', initcap(label) from people;
create temp table ids as select gen_random_uuid() as org, gen_random_uuid() as other_org,
    gen_random_uuid() as endpoint, gen_random_uuid() as other_endpoint,
    gen_random_uuid() as delivery, gen_random_uuid() as other_delivery;
insert into public.organizations (id, name)
select org, 'Padaria' from ids union all select other_org, 'Vizinha' from ids;
insert into public.memberships (organization_id, user_id, role)
select org, (select id from people where label = 'dona'), 'owner'::public.membership_role from ids
union all select org, (select id from people where label = 'atendente'), 'agent' from ids
union all select other_org, (select id from people where label = 'vizinha'), 'owner' from ids;
insert into public.webhook_endpoints (id, organization_id, url, events, secret_ciphertext)
select endpoint, org, 'https://crm.example.com/a', '{message.received}'::text[], 'c' from ids
union all
select other_endpoint, other_org, 'https://crm.example.com/b', '{message.received}'::text[], 'c' from ids;
insert into public.webhook_deliveries (id, organization_id, endpoint_id, event_type, payload)
select delivery, org, endpoint, 'message.received', '{}'::jsonb from ids
union all
select other_delivery, other_org, other_endpoint, 'message.received', '{}'::jsonb from ids;
grant select on people, ids to authenticated, service_role;

select pg_temp.act_as_service_role();
select is(
    private.record_webhook_attempt_v1((select delivery from ids), 500, 12, 'answered 500',
                                      now() + interval '5 seconds'),
    'pending', 'a failed attempt'
);
select is(
    private.record_webhook_attempt_v1((select delivery from ids), null, 10000,
                                      'no answer within 10 s', now() + interval '5 minutes'),
    'pending', 'a timeout'
);
select is(
    private.record_webhook_attempt_v1((select delivery from ids), 204, 8, null, null),
    'delivered', 'then delivered'
);
select is(
    private.record_webhook_attempt_v1((select delivery from ids), 204, 8, null, null),
    null, 'an attempt on a delivered delivery is not recorded'
);
select private.record_webhook_attempt_v1((select other_delivery from ids), 200, 5, null, null);
select pg_temp.reset_role();

select results_eq(
    $$ select attempt, status_code, duration_ms, error from public.webhook_delivery_attempts
       where delivery_id = (select delivery from ids) order by attempted_at, id $$,
    $$ values (1, 500, 12, 'answered 500'), (2, null, 10000, 'no answer within 10 s'),
              (3, 204, 8, null) $$,
    'each attempt is kept: number, status, duration, error'
);

select pg_temp.act_as((select id from people where label = 'dona'));
select results_eq(
    $$ select count(*)::integer, count(*) filter (where delivery_id = (select delivery from ids))::integer
       from public.webhook_delivery_attempts $$,
    $$ values (3, 3) $$,
    'an owner reads her organization''s attempts, and no other organization''s'
);
select throws_ok(
    $$ insert into public.webhook_delivery_attempts (organization_id, delivery_id, attempt)
       select org, delivery, 9 from ids $$,
    '42501', null, 'and cannot write them'
);
select pg_temp.act_as((select id from people where label = 'vizinha'));
select results_eq(
    $$ select delivery_id from public.webhook_delivery_attempts $$,
    $$ select other_delivery from ids $$,
    'the other organization''s owner reads only hers'
);
select pg_temp.act_as((select id from people where label = 'atendente'));
select is_empty($$ select * from public.webhook_delivery_attempts $$, 'agents read none');
select pg_temp.reset_role();

update public.webhook_delivery_attempts set attempted_at = now() - interval '31 days'
where delivery_id = (select delivery from ids) and attempt < 3;
select pg_temp.act_as_service_role();
select is(private.purge_webhook_attempts_v1(interval '30 days', 1) +
          private.purge_webhook_attempts_v1(interval '30 days', 1) +
          private.purge_webhook_attempts_v1(interval '30 days', 1),
          2, 'the purge deletes attempts older than the retention, a batch at a time');
select pg_temp.reset_role();
select results_eq(
    $$ select d.attempts, count(a.id)::integer from public.webhook_deliveries as d
       left join public.webhook_delivery_attempts as a on a.delivery_id = d.id
       where d.id = (select delivery from ids) group by d.attempts $$,
    $$ values (3, 1) $$,
    'the recent attempt and the delivery''s summary stay'
);

select * from finish();
rollback;
