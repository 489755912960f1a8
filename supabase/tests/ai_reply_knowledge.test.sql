-- A reply's run keeps the knowledge passages its model request carried
-- (private.record_ai_reply_v2, 20261207002210): on the run it inserts, replied or skipped.
begin;
select plan(5);

create temp table world as
with org as (
    insert into public.organizations (name) values ('Padaria') returning id
), channel as (
    insert into public.channels (organization_id, kind, phone_number, twilio_account_sid,
                                 twilio_auth_token_ciphertext)
    select id, 'whatsapp', '+5511900000001', 'AC' || md5('padaria-knowledge'), 'x' from org
    returning id, organization_id
)
select channel.organization_id, channel.id as channel_id from channel;

create temp table ingested as
select * from private.ingest_inbound_message_v1(
    (select channel_id from world), 'SM-pgtap-knowledge-1', '+5521987654322', 'tem bolo?', '[]',
    'Cliente');
create function pg_temp.conversation() returns uuid language sql as
    $$ select conversation_id from ingested limit 1 $$;
update public.messages set created_at = now() - interval '10 minutes';

select * into temp replied from private.record_ai_reply_v2(
    pg_temp.conversation(), 'Temos bolo de cenoura.', now() - interval '10 minutes',
    'gpt-4o-mini', 10, 2, 150, '[{"title": "Cardápio", "text": "Bolo de cenoura"}]');
select is((select outcome from replied), 'replied', 'the reply is recorded');
select is(
    (select knowledge_sources from public.ai_runs where id = (select run_id from replied)),
    '[{"title": "Cardápio", "text": "Bolo de cenoura"}]'::jsonb,
    'its run keeps the passages it was given');
select is(
    (select count(*)::integer from public.ai_runs where conversation_id = pg_temp.conversation()),
    1, 'one run');

-- The agent is switched off: the next reply is skipped, and its run keeps its passages too.
update public.agents set ai_enabled = false;
select * into temp skipped from private.record_ai_reply_v2(
    pg_temp.conversation(), 'De novo.', now() - interval '10 minutes', 'gpt-4o-mini', 1, 1, 1,
    '[{"title": "Cardápio", "text": "Pão"}]');
select results_eq(
    $$ select outcome, knowledge_sources from public.ai_runs
       where id = (select run_id from skipped) $$,
    $$ values ('skipped'::text, '[{"title": "Cardápio", "text": "Pão"}]'::jsonb) $$,
    'a skipped run keeps them as well');

update public.agents set ai_enabled = true;
select * into temp without from private.record_ai_reply_v2(
    pg_temp.conversation(), 'Sem trechos.', now() - interval '10 minutes', 'gpt-4o-mini');
select is(
    (select knowledge_sources from public.ai_runs where id = (select run_id from without)),
    null, 'a run without passages has none');

select * from finish();
rollback;
