-- Scheduled sends (20261207001540_scheduled_messages.sql), as the real roles: who may
-- schedule, see and cancel in which organization; the time rules in SQL; and the send's
-- claim: run twice, it queues one message.
begin;
\ir act_as.psql
select plan(17);

-- Two organizations: Padaria (dona) and Oficina (outra), each with a conversation.
create temp table people (label text primary key, id uuid not null default gen_random_uuid());
insert into people (label) values ('dona'), ('outra');
insert into auth.users (id, email, created_at)
select id, label || '@example.com', now() from people;
insert into public.profiles (id, email, full_name)
select id, label || '@example.com', initcap(label) from people;

create temp table ids as select gen_random_uuid() as padaria, gen_random_uuid() as oficina,
    gen_random_uuid() as channel_id, gen_random_uuid() as contact_id,
    gen_random_uuid() as conversation_id, gen_random_uuid() as oficina_conversation_id;
insert into public.organizations (id, name)
select padaria, 'Padaria' from ids union all select oficina, 'Oficina' from ids;
insert into public.memberships (organization_id, user_id, role)
select padaria, (select id from people where label = 'dona'), 'owner'::public.membership_role
from ids
union all select oficina, (select id from people where label = 'outra'), 'owner' from ids;
insert into public.channels (id, organization_id, kind, phone_number, twilio_account_sid,
                             twilio_auth_token_ciphertext)
select channel_id, padaria, 'whatsapp', '+5511900000101', 'AC' || md5('p'), 'c' from ids;
insert into public.channels (organization_id, kind, phone_number, twilio_account_sid,
                             twilio_auth_token_ciphertext)
select oficina, 'whatsapp', '+5511900000102', 'AC' || md5('o'), 'c' from ids;
insert into public.contacts (id, organization_id, phone_number)
select contact_id, padaria, '+5521900000101' from ids;
insert into public.contacts (organization_id, phone_number)
select oficina, '+5521900000102' from ids;
insert into public.conversations (id, organization_id, channel_id, contact_id, last_inbound_at)
select conversation_id, padaria, channel_id, contact_id, now() from ids;
insert into public.conversations (id, organization_id, channel_id, contact_id, last_inbound_at)
select ids.oficina_conversation_id, ids.oficina, ch.id, ct.id, now()
from ids, public.channels as ch, public.contacts as ct
where ch.organization_id = ids.oficina and ct.organization_id = ids.oficina;

create temp table made (label text primary key, id uuid);
grant select on people, ids to authenticated, service_role;
grant select, insert on made to authenticated, service_role;
create function pg_temp.person(label text) returns uuid
    language sql stable as $$ select id from people where people.label = person.label $$;

-- Scheduling ------------------------------------------------------------------------------

select pg_temp.act_as(pg_temp.person('dona'));
insert into made
select 'padaria', public.schedule_message_v1(
    (select conversation_id from ids), now() + interval '1 hour', 'Lembrete da Padaria');
select pg_temp.act_as(pg_temp.person('outra'));
insert into made
select 'oficina', public.schedule_message_v1(
    (select oficina_conversation_id from ids), now() + interval '1 hour', 'Lembrete da Oficina');

select throws_ok(
    $$ select public.schedule_message_v1((select conversation_id from ids),
                                         now() + interval '1 hour', 'Oi') $$,
    'P0002', 'no such conversation',
    'another organization''s conversation cannot be scheduled in'
);
select results_eq(
    $$ select body from public.scheduled_messages $$,
    $$ values ('Lembrete da Oficina') $$,
    'a member sees only their organization''s scheduled messages'
);
select throws_ok(
    $$ select public.cancel_scheduled_message_v1((select id from made where label = 'padaria')) $$,
    'P0002', 'no such scheduled message',
    'another organization''s scheduled message cannot be cancelled'
);
select throws_ok(
    $$ insert into public.scheduled_messages (organization_id, conversation_id, body, send_at)
       select oficina, oficina_conversation_id, 'Direto', now() + interval '1 hour' from ids $$,
    '42501', null, 'clients cannot write scheduled messages but through the functions'
);

select pg_temp.act_as(pg_temp.person('dona'));
select throws_ok(
    $$ select public.schedule_message_v1((select conversation_id from ids),
                                         now() - interval '1 minute', 'Oi') $$,
    '23514', 'send_at must be in the future, within 90 days', 'the past is refused'
);
select throws_ok(
    $$ select public.schedule_message_v1((select conversation_id from ids),
                                         now() + interval '91 days', 'Oi') $$,
    '23514', 'send_at must be in the future, within 90 days', 'beyond 90 days is refused'
);
select throws_ok(
    $$ select public.schedule_message_v1((select conversation_id from ids),
                                         now() + interval '1 hour', '   ') $$,
    '23514', 'a scheduled message is a body or a template, not both nor neither',
    'an empty message is refused'
);
select pg_temp.reset_role();
select results_eq(
    $$ select s.status::text, j.task_name::text, j.scheduled_at = s.send_at
       from public.scheduled_messages as s
       join procrastinate.procrastinate_jobs as j on j.id = s.job_id
       where s.id = (select id from made where label = 'padaria') $$,
    $$ values ('scheduled', 'conversations:send_scheduled_message', true) $$,
    'the job is deferred to send_at with the row'
);
select throws_ok(
    $$ insert into public.scheduled_messages (organization_id, conversation_id, body, send_at)
       select padaria, conversation_id, 'Longe', now() + interval '1 year' from ids $$,
    '23514', null, 'the table itself refuses a time beyond the horizon'
);

-- Sending: the claim ----------------------------------------------------------------------

select pg_temp.act_as_service_role();
select results_eq(
    $$ select status::text, reason from private.send_scheduled_message_v1(
           (select id from made where label = 'padaria')) $$,
    $$ values ('sent', null::text) $$,
    'when due, it is queued as a message'
);
select results_eq(
    $$ select status::text from private.send_scheduled_message_v1(
           (select id from made where label = 'padaria')) $$,
    $$ values ('sent') $$,
    'a second run finds it sent'
);
select pg_temp.reset_role();
select results_eq(
    $$ select count(*)::integer, min(author::text), min(body)
       from public.messages where metadata ->> 'scheduled_message_id'
           = (select id::text from made where label = 'padaria') $$,
    $$ values (1, 'member', 'Lembrete da Padaria') $$,
    'one message, however many runs'
);
select is(
    (select count(*)::integer from procrastinate.procrastinate_jobs
     where task_name = 'channels:send_message'),
    1,
    'one send job for it'
);

select pg_temp.act_as(pg_temp.person('dona'));
select is(
    public.cancel_scheduled_message_v1((select id from made where label = 'padaria'))::text,
    'sent',
    'cancelling a sent message changes nothing and says it was sent'
);

-- Opted out by send time: skipped with the reason, nothing queued.
select pg_temp.reset_role();
update public.contacts set opted_out_at = now()
where organization_id = (select oficina from ids);
select pg_temp.act_as_service_role();
select results_eq(
    $$ select status::text, reason, message_id from private.send_scheduled_message_v1(
           (select id from made where label = 'oficina')) $$,
    $$ values ('skipped', 'contact_opted_out', null::uuid) $$,
    'an opted-out contact is skipped at send time'
);

select pg_temp.act_as(pg_temp.person('outra'));
select is(
    public.cancel_scheduled_message_v1((select id from made where label = 'oficina'))::text,
    'skipped',
    'a skipped message is not cancelled either'
);
select pg_temp.act_as_anon();
select throws_ok(
    $$ select public.cancel_scheduled_message_v1(gen_random_uuid()) $$,
    '42501', null, 'anonymous callers cannot cancel'
);

select * from finish();
rollback;
