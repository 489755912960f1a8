-- The team inbox's rules, as the real roles: read positions are private to each member,
-- and a member's reply follows the message rules and pauses the bot.
begin;
\ir act_as.psql
select plan(12);

create temp table world as
with owner as (
    insert into auth.users (id, email, created_at)
    values (gen_random_uuid(), 'dona@example.com', now()) returning id
), mate as (
    insert into auth.users (id, email, created_at)
    values (gen_random_uuid(), 'colega@example.com', now()) returning id
), outsider as (
    insert into auth.users (id, email, created_at)
    values (gen_random_uuid(), 'fora@example.com', now()) returning id
)
select (select id from owner) as owner_id, (select id from mate) as mate_id,
       (select id from outsider) as outsider_id;

insert into public.profiles (id, email, full_name)
select owner_id, 'dona@example.com', 'Dona' from world
union all select mate_id, 'colega@example.com', 'Colega' from world
union all select outsider_id, 'fora@example.com', 'Fora' from world;

create temp table ids as select gen_random_uuid() as organization_id,
    gen_random_uuid() as channel_id, gen_random_uuid() as contact_id,
    gen_random_uuid() as open_id, gen_random_uuid() as stale_id,
    gen_random_uuid() as stale_contact_id;

insert into public.organizations (id, name) select organization_id, 'Padaria' from ids;
insert into public.memberships (organization_id, user_id, role)
select organization_id, owner_id, 'owner'::public.membership_role from ids, world
union all select organization_id, mate_id, 'agent' from ids, world;
insert into public.channels (id, organization_id, kind, phone_number, twilio_account_sid,
                             twilio_auth_token_ciphertext)
select channel_id, organization_id, 'whatsapp', '+5511900000001', 'AC' || md5('x'), 'c' from ids;
insert into public.contacts (id, organization_id, phone_number)
select contact_id, organization_id, '+5521900000001' from ids
union all select stale_contact_id, organization_id, '+5521900000002' from ids;
insert into public.conversations (id, organization_id, channel_id, contact_id, last_inbound_at)
select open_id, organization_id, channel_id, contact_id, now() from ids
union all
select stale_id, organization_id, channel_id, stale_contact_id, now() - interval '2 days' from ids;

-- The test's own bookkeeping, readable while acting as a member.
grant select on world, ids to authenticated;

-- Read positions ------------------------------------------------------------------------

select pg_temp.act_as((select mate_id from world));
insert into public.conversation_reads (conversation_id, user_id)
select open_id, (select mate_id from world) from ids;
select is(
    (select organization_id from public.conversation_reads),
    (select organization_id from ids),
    'a read position is filed under its conversation''s organization'
);

select pg_temp.act_as((select owner_id from world));
select is_empty(
    'select * from public.conversation_reads',
    'a member cannot see a teammate''s read positions'
);
select throws_ok(
    format('insert into public.conversation_reads (conversation_id, user_id) values (%L, %L)',
           (select open_id from ids), (select mate_id from world)),
    '42501',
    null,
    'a member cannot record a read position for someone else'
);

-- A member's reply ----------------------------------------------------------------------

select is(
    (select outcome from public.send_member_message_v1((select open_id from ids), '  ')),
    'invalid_body',
    'an empty reply is refused'
);
select is(
    (select outcome from public.send_member_message_v1((select stale_id from ids), 'Oi!')),
    'outside_customer_service_window',
    'free-form text outside the 24-hour window is refused'
);
select is(
    (select outcome from public.send_member_message_v1((select open_id from ids), 'Oi! Aqui é a Dona.')),
    'queued',
    'a member''s reply inside the window is queued'
);

select pg_temp.reset_role();
select is(
    (select ai_enabled from public.conversations where id = (select open_id from ids)),
    false,
    'a member''s reply pauses the AI in that conversation'
);
select is(
    (select author::text || '/' || author_member_id::text || '/' || status::text
     from public.messages where conversation_id = (select open_id from ids)),
    'member/' || (select owner_id from world) || '/queued',
    'the reply is stored as the member''s, queued'
);
select is(
    (select count(*)::int from procrastinate.procrastinate_jobs
     where task_name = 'channels:send_message'),
    1,
    'the reply''s send job is deferred with it'
);

update public.contacts set opted_out_at = now() where id = (select contact_id from ids);
select pg_temp.act_as((select owner_id from world));
select is(
    (select outcome from public.send_member_message_v1((select open_id from ids), 'Oi de novo')),
    'contact_opted_out',
    'a contact who opted out gets nothing'
);

select pg_temp.act_as((select outsider_id from world));
select is(
    (select outcome from public.send_member_message_v1((select open_id from ids), 'Olá')),
    'not_found',
    'someone outside the organization cannot reply (nor learn the conversation exists)'
);

select pg_temp.act_as((select owner_id from world));
update public.conversations set status = 'closed' where id = (select open_id from ids);
select is(
    (select outcome from public.send_member_message_v1((select open_id from ids), 'Olá')),
    'conversation_closed',
    'a closed conversation takes no replies'
);

select * from finish();
rollback;
