-- Outgoing webhooks (20261207001320_outgoing_webhooks.sql): events recorded with their
-- jobs by the transaction of the change, for the endpoints subscribed to them; attempts
-- recorded; failing endpoints disabled; who manages endpoints and redelivers.
begin;
\ir act_as.psql
select plan(21);

create temp table people (label text primary key, id uuid not null default gen_random_uuid());
insert into people (label) values ('dona'), ('atendente');
insert into auth.users (id, email, created_at)
select id, label || '@example.com', now() from people;
insert into public.profiles (id, email, full_name)
select id, label || '@example.com', initcap(label) from people;
create temp table ids as select gen_random_uuid() as org, gen_random_uuid() as channel_id,
    gen_random_uuid() as contact_id, gen_random_uuid() as conversation_id,
    gen_random_uuid() as all_events, gen_random_uuid() as messages_only,
    gen_random_uuid() as switched_off;
insert into public.organizations (id, name) select org, 'Padaria' from ids;
insert into public.memberships (organization_id, user_id, role)
select org, (select id from people where label = 'dona'), 'owner'::public.membership_role from ids
union all select org, (select id from people where label = 'atendente'), 'agent' from ids;
insert into public.channels (id, organization_id, kind, phone_number, twilio_account_sid,
                             twilio_auth_token_ciphertext)
select channel_id, org, 'whatsapp', '+5511900000001', 'AC' || md5('p'), 'c' from ids;
insert into public.contacts (id, organization_id, phone_number, profile_name)
select contact_id, org, '+5521900000001', 'Maria' from ids;
insert into public.conversations (id, organization_id, channel_id, contact_id, last_inbound_at)
select conversation_id, org, channel_id, contact_id, now() from ids;
insert into public.webhook_endpoints (id, organization_id, url, events, secret_ciphertext)
select all_events, org, 'https://crm.example.com/a', private.webhook_event_types(), 'c' from ids
union all
select messages_only, org, 'https://crm.example.com/m', '{message.received}', 'c' from ids;
insert into public.webhook_endpoints (id, organization_id, url, events, enabled, secret_ciphertext)
select switched_off, org, 'https://crm.example.com/off', private.webhook_event_types(), false, 'c'
from ids;
grant select on people, ids to authenticated, service_role;

create function pg_temp.deliveries(kind text) returns bigint
    language sql as $$ select count(*) from public.webhook_deliveries where event_type = kind $$;
create function pg_temp.jobs() returns bigint
    language sql as $$
        select count(*) from procrastinate.procrastinate_jobs
        where task_name = 'webhooks:deliver_webhook' and queue_name = 'webhooks'
    $$;

-- Recording -----------------------------------------------------------------------------

select throws_ok(
    $$ insert into public.webhook_endpoints (organization_id, url, events, secret_ciphertext)
       select org, 'https://crm.example.com', '{message.deleted}', 'c' from ids $$,
    '23514', null, 'an endpoint subscribes to known event types only'
);
select throws_ok(
    $$ insert into public.webhook_endpoints (organization_id, url, events, secret_ciphertext)
       select org, 'ftp://crm.example.com', '{message.received}', 'c' from ids $$,
    '23514', null, 'and posts to http(s) URLs only'
);

savepoint before_message;
insert into public.messages (organization_id, conversation_id, direction, author, body, status)
select org, conversation_id, 'inbound', 'contact', 'Oi', 'received' from ids;
select is(pg_temp.deliveries('message.received'), 2::bigint,
          'a message received is recorded for each enabled endpoint subscribed to it');
select is(pg_temp.jobs(), 2::bigint, 'each with its job, in the same transaction');
select results_eq(
    $$ select payload -> 'type', payload -> 'data' -> 'message' ->> 'body',
              payload -> 'data' -> 'contact' ->> 'phone_number'
       from public.webhook_deliveries limit 1 $$,
    $$ values ('"message.received"'::jsonb, 'Oi', '+5521900000001') $$,
    'the payload says what happened, to whom'
);
rollback to savepoint before_message;
select is(pg_temp.deliveries('message.received') + pg_temp.jobs(), 0::bigint,
          'a change rolled back leaves no event and no job');

insert into public.messages (id, organization_id, conversation_id, direction, author, body,
                             status)
select '00000000-0000-0000-0000-00000000000a', org, conversation_id, 'outbound', 'ai', 'Olá',
       'queued'
from ids;
select is(pg_temp.deliveries('message.sent') + pg_temp.deliveries('message.status_changed'),
          0::bigint, 'a message queued is no event yet');
update public.messages set status = 'sending' where id = '00000000-0000-0000-0000-00000000000a';
update public.messages set status = 'sent' where id = '00000000-0000-0000-0000-00000000000a';
update public.messages set status = 'delivered' where id = '00000000-0000-0000-0000-00000000000a';
select results_eq(
    $$ select event_type, count(*)::integer from public.webhook_deliveries
       where event_type like 'message.%' group by 1 order by 1 $$,
    $$ values ('message.sent', 1), ('message.status_changed', 2) $$,
    'sent once, and each status Twilio reports'
);

update public.conversations set status = 'handoff';
update public.conversations set assignee_id = (select id from people where label = 'atendente');
update public.conversations set status = 'closed', closed_at = now();
update public.conversations set status = 'open', closed_at = null;
select results_eq(
    $$ select event_type from public.webhook_deliveries where event_type like 'conversation.%'
       order by created_at, event_type $$,
    $$ values ('conversation.assigned'), ('conversation.closed'), ('conversation.handed_off'),
              ('conversation.reopened') $$,
    'handed off, assigned, closed and reopened'
);

update public.contacts set opted_out_at = now();
update public.contacts set profile_name = 'Maria S.', opted_out_at = opted_out_at;
update public.contacts set opted_out_at = null;
select results_eq(
    $$ select event_type from public.webhook_deliveries where event_type like 'contact.%'
       order by event_type desc $$,
    $$ values ('contact.opted_out'), ('contact.opted_in') $$,
    'opting out and back in, once each'
);
select is(
    (select count(*) from public.webhook_deliveries
     where endpoint_id in (select messages_only from ids union all select switched_off from ids)),
    0::bigint,
    'endpoints hear only what they subscribed to, and disabled ones nothing'
);

-- Attempts ------------------------------------------------------------------------------

create temp table one as
select id from public.webhook_deliveries where event_type = 'contact.opted_in';
grant select on one to service_role, authenticated;
select pg_temp.act_as_service_role();
select is(
    private.record_webhook_attempt_v1((select id from one), 500, 12, 'answered 500',
                                      now() + interval '5 seconds'),
    'pending', 'a failed attempt leaves the delivery pending until its next attempt'
);
select is(
    private.record_webhook_attempt_v1((select id from one), 204, 8, null, null),
    'delivered', 'a 2xx delivers it'
);
select is(
    private.record_webhook_attempt_v1((select id from one), 204, 8, null, null),
    null, 'a delivered delivery takes no more attempts'
);
select pg_temp.reset_role();
select results_eq(
    $$ select attempts, last_status_code, status, failing_since from public.webhook_deliveries
       join public.webhook_endpoints as e on e.id = endpoint_id
       where webhook_deliveries.id = (select id from one) $$,
    $$ values (2, 204, 'delivered', null::timestamptz) $$,
    'attempts counted, and the endpoint answers again'
);

update public.webhook_endpoints set failing_since = now() - interval '4 days'
where id = (select all_events from ids);
select pg_temp.act_as_service_role();
select is(
    private.record_webhook_attempt_v1(
        (select id from public.webhook_deliveries where event_type = 'contact.opted_out'),
        null, 10000, 'no answer within 10 s', null),
    'failed', 'the last attempt failing fails the delivery'
);
select pg_temp.reset_role();
select results_eq(
    $$ select enabled, disabled_reason from public.webhook_endpoints
       where id = (select all_events from ids) $$,
    $$ values (false, 'failing') $$,
    'an endpoint failing for days is disabled'
);
select pg_temp.act_as_service_role();
select results_eq(
    $$ select email, organization_name
       from private.claim_endpoint_disabled_notice_v1((select all_events from ids)) $$,
    $$ values ('dona@example.com', 'Padaria') $$,
    'its owners are to be told (20261207001330)'
);
select is_empty(
    $$ select * from private.claim_endpoint_disabled_notice_v1((select all_events from ids)) $$,
    'once'
);
select pg_temp.reset_role();

-- Who manages endpoints -----------------------------------------------------------------

select pg_temp.act_as((select id from people where label = 'atendente'));
select is_empty(
    $$ select id from public.webhook_endpoints union all select id from public.webhook_deliveries $$,
    'agents see no endpoints and no deliveries'
);
select throws_ok(
    $$ select public.redeliver_webhook_v1((select id from one)) $$,
    'PT404', 'webhook delivery not found', 'nor redeliver'
);

select * from finish();
rollback;
