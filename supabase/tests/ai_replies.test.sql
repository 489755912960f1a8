-- The reply job's rules in SQL: who may call them, when the AI may answer, what counts
-- as waiting for an answer, and what each outcome leaves behind.
begin;
select plan(28);

-- A shop with a WhatsApp channel, a customer who just wrote, and an SMS customer.
create temp table world as
with org as (
    insert into public.organizations (name) values ('Padaria') returning id
), channel as (
    insert into public.channels (organization_id, kind, phone_number, twilio_account_sid,
                                 twilio_auth_token_ciphertext)
    select id, 'whatsapp', '+5511900000000', 'AC' || md5('padaria'), 'x' from org
    returning id, organization_id
)
select channel.organization_id, channel.id as channel_id from channel;

create temp table ingested as
select * from private.ingest_inbound_message_v1(
    (select channel_id from world), 'SM-pgtap-1', '+5521987654321', 'oi', '[]', 'Cliente');

create function pg_temp.conversation() returns uuid language sql as
    $$ select conversation_id from ingested limit 1 $$;

-- Everything in this transaction shares one now(): messages get distinct times by hand.
update public.messages set created_at = now() - interval '10 minutes';

-- Only the platform calls them -----------------------------------------------------------

select ok(
    not has_function_privilege('authenticated',
        'private.record_ai_reply_v1(uuid, text, timestamptz, text, integer, integer, integer)',
        'execute')
    and not has_function_privilege('authenticated',
        'private.hand_off_conversation(uuid, text, text)', 'execute')
    and not has_function_privilege('anon',
        'private.record_ai_fallback_v1(uuid, text, text, timestamptz, text, integer, integer, integer)',
        'execute')
    and has_function_privilege('service_role',
        'private.record_ai_fallback_v1(uuid, text, text, timestamptz, text, integer, integer, integer)',
        'execute'),
    'the reply functions are the platform''s alone'
);

-- May the AI answer? ----------------------------------------------------------------------

select is(private.ai_reply_blocker(pg_temp.conversation()), null, 'a fresh conversation may be answered');
select ok(private.ai_reply_pending(pg_temp.conversation()), 'the customer''s message waits for an answer');
select is(private.ai_reply_blocker(gen_random_uuid()), 'conversation_missing', 'an unknown conversation');

update public.conversations set last_inbound_at = now() - interval '24 hours 1 second'
where id = pg_temp.conversation();
select is(private.ai_reply_blocker(pg_temp.conversation()), 'outside_customer_service_window',
    'WhatsApp''s window closed 24 hours after the last customer message');
update public.channels set kind = 'sms' where id = (select channel_id from world);
select is(private.ai_reply_blocker(pg_temp.conversation()), null, 'SMS has no window');
update public.channels set kind = 'whatsapp' where id = (select channel_id from world);
update public.conversations set last_inbound_at = now() where id = pg_temp.conversation();

update public.contacts set opted_out_at = now();
select is(private.ai_reply_blocker(pg_temp.conversation()), 'contact_opted_out', 'opted out');
update public.contacts set opted_out_at = null;
update public.agents set ai_enabled = false;
select is(private.ai_reply_blocker(pg_temp.conversation()), 'agent_ai_disabled', 'the agent is off');
update public.agents set ai_enabled = true;
update public.conversations set ai_enabled = false where id = pg_temp.conversation();
select is(private.ai_reply_blocker(pg_temp.conversation()), 'conversation_ai_disabled',
    'the team switched the AI off here');
update public.conversations set ai_enabled = true where id = pg_temp.conversation();

-- A team member's answer answers the customer.
-- (A row a function inserts is not visible to the statement that called it: one
-- statement calls, the next one dates.)
select private.queue_outbound_message(pg_temp.conversation(), 'member', 'Oi, aqui é a Ana');
update public.messages set created_at = now() - interval '5 minutes' where author = 'member';
select ok(not private.ai_reply_pending(pg_temp.conversation()), 'a team answer leaves nothing waiting');

-- Recording a reply ---------------------------------------------------------------------

select * into temp replied from private.record_ai_reply_v1(
    pg_temp.conversation(), 'Olá!', now() - interval '10 minutes', 'gpt-4o-mini', 10, 2, 150);
select is((select outcome from replied), 'skipped',
    'a reply the team answered before is not sent');
select is((select error from public.ai_runs where id = (select run_id from replied)),
    'the reply was not sent: team_replied', 'and the run says why');

-- The customer writes again: newer than the team's answer.
select message_id from private.ingest_inbound_message_v1(
    (select channel_id from world), 'SM-pgtap-2', '+5521987654321', 'e o preço?', '[]', null);
update public.messages set created_at = now() - interval '1 minute' where body = 'e o preço?';
select ok(private.ai_reply_pending(pg_temp.conversation()), 'a newer customer message waits');

select * into temp replied_again from private.record_ai_reply_v1(
    pg_temp.conversation(), 'R$ 10.', now() - interval '1 minute', 'gpt-4o-mini', 10, 2, 150);
select is((select outcome from replied_again), 'replied', 'the reply is recorded');
select is(
    (select body || '/' || author || '/' || status from public.messages
     where id = (select message_id from replied_again)),
    'R$ 10./ai/queued', 'as a queued AI message');
select ok(
    exists (select from procrastinate.procrastinate_jobs
            where task_name = 'channels:send_message'
              and args ->> 'message_id' = (select message_id from replied_again)::text),
    'with its send job');
select ok(not private.ai_reply_pending(pg_temp.conversation()), 'nothing waits after the reply');

-- Transient failures in a row ---------------------------------------------------------------

update public.ai_runs set created_at = now() - interval '1 minute';
select private.record_ai_retry_v1(pg_temp.conversation(), 'gpt-4o-mini', 'HTTP 500', 0);
select private.record_ai_retry_v1(pg_temp.conversation(), 'gpt-4o-mini', 'HTTP 500', 0);
select is(private.consecutive_ai_retries(pg_temp.conversation()), 2, 'two retries in a row');
select is(
    (select count(*)::integer from procrastinate.procrastinate_jobs
     where task_name = 'conversations:generate_reply' and status = 'todo'
       and queueing_lock = 'reply:' || pg_temp.conversation()),
    1, 'the retries share the one waiting reply job');

-- The fallback, when the customer cannot be told --------------------------------------------

update public.contacts set opted_out_at = now();
update public.ai_runs set created_at = now() - interval '30 seconds' where outcome = 'retrying';
select * into temp fell_back from private.record_ai_fallback_v1(
    pg_temp.conversation(), 'authentication', 'bad key', now(), 'gpt-4o-mini');
select is((select outcome from fell_back), 'fallback', 'the failure is recorded as a fallback');
select is((select message_id from fell_back), null, 'no message goes to an opted-out customer');
select is(
    (select status::text || '/' || ai_enabled from public.conversations where id = pg_temp.conversation()),
    'handoff/false', 'the team gets the conversation all the same');
select is((select error from public.ai_runs where id = (select run_id from fell_back)),
    '[authentication] bad key (the fallback message was not sent: contact_opted_out)',
    'and the run says why nothing was sent');
select is(private.consecutive_ai_retries(pg_temp.conversation()), 0, 'the fallback ends the run of retries');

-- Handing off is done once -----------------------------------------------------------------

select ok(not private.hand_off_conversation(pg_temp.conversation(), 'again'),
    'a conversation already with the team is not handed off twice');
update public.conversations set status = 'closed', closed_at = now() where id = pg_temp.conversation();
select ok(not private.hand_off_conversation(pg_temp.conversation(), 'late'),
    'a closed conversation stays closed');

-- Upkeep is idempotent -----------------------------------------------------------------------

update public.conversations set status = 'open', closed_at = null,
    last_message_at = now() - interval '2 days'
where id = pg_temp.conversation();
select is(private.close_inactive_conversations_v1(), 1, 'an inactive conversation is closed');
select is(private.close_inactive_conversations_v1(), 0, 'and only once');

select * from finish();
rollback;
