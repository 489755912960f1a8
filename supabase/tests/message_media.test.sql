-- Media (20261207001400_message_media.sql), as the real roles: an inbound message with
-- files defers the job that fetches them; only the platform records what became of a
-- file, under the message's organization; a member's reply takes files of their own
-- organization's uploads, of WhatsApp's kinds and sizes, one per WhatsApp message.
begin;
\ir act_as.psql
select plan(19);

create temp table ids as select gen_random_uuid() as padaria, gen_random_uuid() as oficina,
    gen_random_uuid() as dona, gen_random_uuid() as outra,
    gen_random_uuid() as channel_id, gen_random_uuid() as conversation_id,
    gen_random_uuid() as closed_window_id;
insert into auth.users (id, email, created_at)
select dona, 'dona@example.com', now() from ids union all
select outra, 'outra@example.com', now() from ids;
insert into public.profiles (id, email, full_name)
select dona, 'dona@example.com', 'Dona' from ids union all
select outra, 'outra@example.com', 'Outra' from ids;
insert into public.organizations (id, name)
select padaria, 'Padaria' from ids union all select oficina, 'Oficina' from ids;
insert into public.memberships (organization_id, user_id, role)
select padaria, dona, 'owner'::public.membership_role from ids union all
select oficina, outra, 'owner' from ids;
insert into public.channels (id, organization_id, kind, phone_number, twilio_account_sid,
                             twilio_auth_token_ciphertext)
select channel_id, padaria, 'whatsapp', '+5511900000001', 'AC' || md5('p'), 'c' from ids;
insert into public.contacts (organization_id, phone_number)
select padaria, '+5521900000001' from ids union all
select padaria, '+5521900000002' from ids;
insert into public.conversations (id, organization_id, channel_id, contact_id, last_inbound_at)
select ids.conversation_id, ids.padaria, ids.channel_id, ct.id, now()
from ids, public.contacts as ct where ct.phone_number = '+5521900000001';
insert into public.conversations (id, organization_id, channel_id, contact_id, last_inbound_at)
select ids.closed_window_id, ids.padaria, ids.channel_id, ct.id, now() - interval '2 days'
from ids, public.contacts as ct where ct.phone_number = '+5521900000002';
grant select on ids to authenticated, service_role;

create function pg_temp.upload(organization uuid, size bigint default 1000,
                               content_type text default 'image/jpeg') returns jsonb
    language sql as $$
    select jsonb_build_object('storage_key', organization || '/uploads/' || gen_random_uuid(),
                              'content_type', content_type, 'size', size,
                              'file_name', 'foto.jpg')
$$;
create function pg_temp.reply(conversation uuid, body text, files jsonb) returns text
    language sql as $$
    select outcome from public.send_member_message_v2(conversation, body, files)
$$;

-- Inbound files: a job per message that has some --------------------------------------

insert into public.messages (organization_id, conversation_id, direction, author, body,
                             media, status, metadata)
select padaria, conversation_id, 'inbound', 'contact', '', jsonb_build_array(
           jsonb_build_object('url', 'https://api.twilio.com/a', 'content_type', 'audio/ogg'),
           jsonb_build_object('url', 'https://api.twilio.com/b', 'content_type', 'image/jpeg')),
       'received', '{"message_sid": "SM1"}'
from ids;
insert into public.messages (organization_id, conversation_id, direction, author, body, status,
                             metadata)
select padaria, conversation_id, 'inbound', 'contact', 'só texto', 'received',
       '{"message_sid": "SM2"}'
from ids;
create temp table voice as
select id from public.messages where metadata ->> 'message_sid' = 'SM1';
grant select on voice to authenticated, service_role;

select results_eq(
    $$ select task_name::text, queue_name::text, args ->> 'message_id'
       from procrastinate.procrastinate_jobs where task_name = 'channels:fetch_media' $$,
    $$ select 'channels:fetch_media'::text, 'media'::text, id::text from voice $$,
    'an inbound message with files defers one media job; a text message none'
);

-- Recording a file's fate: the platform's alone -----------------------------------------

select pg_temp.act_as((select dona from ids));
select throws_ok(
    $$ select private.record_message_media_v1((select id from voice), 0, '{"status": "failed"}') $$,
    '42501', null,
    'a member cannot record what became of a file'
);
select pg_temp.act_as_service_role();
select throws_ok(
    format($$ select private.record_message_media_v1(%L, 0, %L) $$,
           (select id from voice),
           jsonb_build_object('status', 'stored', 'size', 5,
                              'storage_key', (select oficina from ids) || '/messages/x/0')),
    '23514', null,
    'a file is never recorded under another organization''s keys'
);
select throws_ok(
    format($$ select private.record_message_media_v1(%L, 0, '{"status": "failed"}') $$,
           (select id from voice)),
    '23514', null,
    'a failure says why'
);
select ok(
    private.record_message_media_v1((select id from voice), 1, jsonb_build_object(
        'status', 'failed', 'error_code', 'media_not_found', 'error_message', 'Sumiu.')),
    'a failure is recorded'
);
select ok(
    private.record_message_media_v1((select id from voice), 0, jsonb_build_object(
        'status', 'stored', 'size', 5, 'file_name', 'audio-1.ogg',
        'storage_key', (select padaria from ids) || '/messages/' || (select id from voice) || '/0')),
    'a stored file is recorded'
);
select is(
    (select media from public.messages where id = (select id from voice)),
    jsonb_build_array(
        jsonb_build_object('url', 'https://api.twilio.com/a', 'content_type', 'audio/ogg',
                           'status', 'stored', 'size', 5, 'file_name', 'audio-1.ogg',
                           'storage_key', (select padaria from ids) || '/messages/'
                                          || (select id from voice) || '/0'),
        jsonb_build_object('url', 'https://api.twilio.com/b', 'content_type', 'image/jpeg',
                           'status', 'failed', 'error_code', 'media_not_found',
                           'error_message', 'Sumiu.')),
    'each item records its own fate, Twilio''s description kept'
);
select is(
    private.record_message_media_v1((select id from voice), 7, '{"status": "failed",
        "error_code": "x", "error_message": "y"}'),
    false,
    'no such file: nothing recorded'
);

-- A member's reply with files ------------------------------------------------------------

select pg_temp.act_as((select dona from ids));
select is(
    pg_temp.reply((select conversation_id from ids), '',
                  jsonb_build_array(pg_temp.upload((select padaria from ids)))),
    'queued', 'a photo goes, without text'
);
select is(
    (select jsonb_agg(item - 'storage_key') from public.messages as m,
            jsonb_array_elements(m.media) as item
     where m.direction = 'outbound'),
    '[{"status": "stored", "content_type": "image/jpeg", "size": 1000, "file_name": "foto.jpg"}]',
    'the reply carries the file, stored'
);
select pg_temp.reset_role();
select is(
    (select count(*)::integer from procrastinate.procrastinate_jobs
     where task_name = 'channels:send_message'),
    1, 'with its send job'
);
select pg_temp.act_as((select dona from ids));
select is(
    pg_temp.reply((select conversation_id from ids), 'oi',
                  jsonb_build_array(pg_temp.upload((select oficina from ids)))),
    'invalid_attachments', 'another organization''s file never goes'
);
select is(
    pg_temp.reply((select conversation_id from ids), 'oi', jsonb_build_array(
        jsonb_build_object('storage_key', (select padaria from ids) || '/messages/'
                                          || (select id from voice) || '/0',
                           'content_type', 'audio/ogg', 'size', 5, 'file_name', 'a.ogg'))),
    'invalid_attachments', 'nor a customer''s file, only the team''s uploads'
);
select is(
    pg_temp.reply((select conversation_id from ids), 'oi', jsonb_build_array(
        pg_temp.upload((select padaria from ids)), pg_temp.upload((select padaria from ids)))),
    'invalid_attachments', 'WhatsApp carries one file a message'
);
select is(
    pg_temp.reply((select conversation_id from ids), 'oi', jsonb_build_array(
        pg_temp.upload((select padaria from ids), 5000001))),
    'invalid_attachments', 'an image over 5 MB does not go'
);
select is(
    pg_temp.reply((select conversation_id from ids), 'oi', jsonb_build_array(
        pg_temp.upload((select padaria from ids), 100, 'text/html'))),
    'invalid_attachments', 'nor a kind WhatsApp does not carry'
);
select is(
    pg_temp.reply((select closed_window_id from ids), 'oi',
                  jsonb_build_array(pg_temp.upload((select padaria from ids)))),
    'outside_customer_service_window', 'files keep to the 24-hour window'
);
select is(
    pg_temp.reply((select conversation_id from ids), ' ', '[]'),
    'invalid_body', 'without files, a reply needs text'
);
select pg_temp.act_as((select outra from ids));
select is(
    pg_temp.reply((select conversation_id from ids), 'oi',
                  jsonb_build_array(pg_temp.upload((select oficina from ids)))),
    'not_found', 'another organization''s member finds no conversation'
);

select * from finish();
rollback;
