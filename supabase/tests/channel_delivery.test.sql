-- Channels in SQL: the status order, the claim's re-checks, template rules, and who may
-- manage templates. Run as the real roles, inside begin ... rollback.

begin;
\ir act_as.psql
select plan(27);

-- The status order ------------------------------------------------------------------------

select ok(private.message_status_may_advance('queued', 'sending'), 'queued -> sending');
select ok(private.message_status_may_advance('sending', 'delivered'), 'sending -> delivered');
select ok(private.message_status_may_advance('sent', 'undelivered'), 'sent -> undelivered');
select ok(not private.message_status_may_advance('delivered', 'sent'), 'never backwards');
select ok(not private.message_status_may_advance('read', 'delivered'), 'read is the top');
select ok(not private.message_status_may_advance('failed', 'delivered'), 'failed is final');
select ok(not private.message_status_may_advance('undelivered', 'read'), 'undelivered is final');
select ok(not private.message_status_may_advance('delivered', 'failed'), 'no failure after delivery');
select ok(not private.message_status_may_advance('sent', 'sent'), 'a repeat changes nothing');
select is(private.twilio_message_status('queued'), 'sending'::public.message_status,
          'Twilio''s queued means Twilio has it: sending');
select is(private.twilio_message_status('canceled'), 'failed'::public.message_status,
          'canceled counts as failed');
select is(private.twilio_message_status('something new'), null, 'unknown statuses say nothing');
select is(
    private.message_status_of_parts(
        '[{"index": 0, "sid": "SM1", "status": "delivered"}, {"index": 1, "sid": "SM2", "status": "sent"}]',
        2),
    'sent'::public.message_status, 'a message is as far as its least advanced part');
select is(
    private.message_status_of_parts('[{"index": 0, "sid": "SM1", "status": "delivered"}]', 2),
    'sending'::public.message_status, 'a part not yet with Twilio holds the message at sending');

-- A business, a customer and a conversation -----------------------------------------------

create temp table world as
with owner as (
    insert into auth.users (id, email) values (gen_random_uuid(), 'dono@example.com') returning id
), profile as (
    insert into public.profiles (id, email, full_name)
    select id, 'dono@example.com', 'Dono' from owner returning id
), org as (
    insert into public.organizations (name) values ('Padaria') returning id
), membership as (
    insert into public.memberships (organization_id, user_id, role)
    select org.id, profile.id, 'owner' from org, profile returning organization_id, user_id
), channel as (
    insert into public.channels (organization_id, kind, phone_number, twilio_account_sid,
                                 twilio_auth_token_ciphertext)
    select organization_id, 'whatsapp', '+5511955551234', 'AC' || md5('padaria'), 'v1.x'
    from membership returning id, organization_id
), contact as (
    insert into public.contacts (organization_id, phone_number)
    select organization_id, '+5521987654321' from channel returning id, organization_id
)
select channel.organization_id, channel.id as channel_id, contact.id as contact_id,
       (select user_id from membership) as owner_id
from channel, contact;

insert into public.conversations (organization_id, channel_id, contact_id, last_inbound_at)
select organization_id, channel_id, contact_id, now() - interval '30 hours' from world;

-- The claim re-checks the window -------------------------------------------------------------

-- Queued while the window was open; it closed before the job ran.
update public.conversations set last_inbound_at = now();
create temp table queued as
select private.queue_outbound_message(
    (select id from public.conversations), 'ai', 'Olá!') as message_id;
update public.conversations set last_inbound_at = now() - interval '25 hours';

select is(
    (select outcome from private.claim_outbound_message_v1((select message_id from queued))),
    'outside_customer_service_window', 'the claim refuses free text after the window closed');
select results_eq(
    $$ select status::text, is_error, error_code from public.messages
       where id = (select message_id from queued) $$,
    $$ values ('failed', true, 'outside_customer_service_window') $$,
    'the refused message is failed, visibly');
select is(
    (select outcome from private.claim_outbound_message_v1((select message_id from queued))),
    'not_queued', 'a failed message is never claimed');

-- Templates go outside the window -------------------------------------------------------------

insert into public.channel_templates (organization_id, channel_id, name, content_sid, variables, body)
select organization_id, channel_id, 'pedido', 'HX' || md5('pedido'),
       '[{"key": "1", "name": "nome"}]', 'Olá {{1}}, seu pedido chegou.'
from world;

grant select on world, queued to authenticated;
select pg_temp.act_as((select owner_id from world));

select throws_ok(
    $$ select public.send_template_message_v1((select id from public.conversations),
                                              (select id from public.channel_templates), '{}') $$,
    '23514', 'the variable 1 needs a value', 'every variable needs a value');
select throws_ok(
    $$ select public.send_template_message_v1((select id from public.conversations),
              (select id from public.channel_templates), '{"1": "Ana", "2": "x"}') $$,
    '23514', 'the template has no variable 2', 'no unknown variables');
select lives_ok(
    $$ select public.send_template_message_v1((select id from public.conversations),
              (select id from public.channel_templates), '{"1": "Ana"}') $$,
    'a member sends a template outside the window');
select results_eq(
    $$ select body, metadata ->> 'content_sid' is not null from public.messages
       where author = 'member' $$,
    $$ values ('Olá Ana, seu pedido chegou.', true) $$,
    'the history shows the template with its values');

-- An agent reads templates but cannot change them ---------------------------------------------

select pg_temp.reset_role();
insert into auth.users (id, email) values ('00000000-0000-0000-0000-00000000a6e7', 'agente@example.com');
insert into public.profiles (id, email, full_name)
values ('00000000-0000-0000-0000-00000000a6e7', 'agente@example.com', 'Agente');
insert into public.memberships (organization_id, user_id, role)
select organization_id, '00000000-0000-0000-0000-00000000a6e7', 'agent' from world;

select pg_temp.act_as('00000000-0000-0000-0000-00000000a6e7');

select is((select count(*) from public.channel_templates), 1::bigint, 'agents read templates');
select throws_ok(
    $$ insert into public.channel_templates (organization_id, channel_id, name, content_sid)
       select organization_id, id, 'outro', 'HX' || md5('outro') from public.channels $$,
    '42501', null, 'agents cannot add templates');
update public.channel_templates set name = 'mudado';
select is((select name from public.channel_templates), 'pedido', 'agents cannot change templates');
delete from public.channel_templates;
select is((select count(*) from public.channel_templates), 1::bigint, 'agents cannot remove templates');
select throws_ok(
    $$ select twilio_auth_token_ciphertext from public.channels $$,
    '42501', null, 'no client reads the auth token');
select throws_ok(
    $$ select * from private.claim_outbound_message_v1(gen_random_uuid()) $$,
    '42501', null, 'only the platform claims messages');

select * from finish();
rollback;
