-- Retention and erasure (20261207001800_retention_and_erasure.sql): usage counted apart
-- from the messages, read by members of the organization alone; retention set by owners
-- and deleting only what expired; erasure by owners and admins of the contact's own
-- organization, audited where only owners read.
begin;
\ir act_as.psql
select plan(20);

create function pg_temp.seed(label text, out organization_id uuid, out owner_id uuid,
                             out admin_id uuid, out agent_id uuid, out contact_id uuid,
                             out conversation_id uuid)
    language plpgsql
as $$
declare
    channel uuid;
begin
    owner_id := gen_random_uuid();
    admin_id := gen_random_uuid();
    agent_id := gen_random_uuid();
    insert into auth.users (id, email, created_at)
    values (owner_id, 'owner-' || label || '@example.com', now()),
           (admin_id, 'admin-' || label || '@example.com', now()),
           (agent_id, 'agent-' || label || '@example.com', now());
    insert into public.profiles (id, email, full_name)
    values (owner_id, 'owner-' || label || '@example.com', 'Owner ' || label),
           (admin_id, 'admin-' || label || '@example.com', 'Admin ' || label),
           (agent_id, 'agent-' || label || '@example.com', 'Agent ' || label);
    insert into public.organizations (name) values ('Org ' || label) returning id into organization_id;
    insert into public.memberships (organization_id, user_id, role)
    values (organization_id, owner_id, 'owner'), (organization_id, admin_id, 'admin'),
           (organization_id, agent_id, 'agent');
    insert into public.channels (organization_id, kind, phone_number, twilio_account_sid,
                                 twilio_auth_token_ciphertext)
    values (organization_id, 'whatsapp',
            '+55119' || lpad((abs(hashtext(label)) % 100000000)::text, 8, '0'),
            'AC' || md5(label), 'ciphertext')
    returning id into channel;
    insert into public.contacts (organization_id, phone_number, profile_name)
    values (organization_id, '+5521987654321', 'Cliente ' || label)
    returning id into contact_id;
    insert into public.conversations (organization_id, channel_id, contact_id, last_inbound_at)
    values (organization_id, channel, contact_id, now())
    returning id into conversation_id;
    insert into public.messages (organization_id, conversation_id, direction, author, body,
                                 status, created_at, metadata)
    values (organization_id, conversation_id, 'inbound', 'contact', 'antiga', 'received',
            now() - interval '45 days', jsonb_build_object('message_sid', 'SMold' || md5(label))),
           (organization_id, conversation_id, 'inbound', 'contact', 'nova', 'received',
            now() - interval '1 day', jsonb_build_object('message_sid', 'SMnew' || md5(label)));
end;
$$;

create temp table orgs as
select 'mine' as side, * from pg_temp.seed('mine')
union all
select 'theirs' as side, * from pg_temp.seed('theirs');
grant select on orgs to authenticated, service_role;

create function pg_temp.o(side text) returns orgs language sql as
$$ select * from orgs where orgs.side = o.side $$;

-- Usage counters ---------------------------------------------------------------------------

select is(
    (select sum(messages_in)::integer from public.usage_counters
     where organization_id = (pg_temp.o('mine')).organization_id),
    2,
    'each message is counted in the usage counters by trigger'
);

select pg_temp.act_as((pg_temp.o('mine')).agent_id);
select is(
    (select count(distinct organization_id)::integer from public.usage_counters),
    1,
    'a member reads the usage counters of their organization alone'
);
select is_empty(
    format('select 1 from public.usage_counters where organization_id = %L',
           (pg_temp.o('theirs')).organization_id),
    'another organization''s usage counters are not to be read'
);
select throws_ok(
    format('insert into public.usage_counters (organization_id, hour, messages_in) values (%L, now(), 1000)',
           (pg_temp.o('mine')).organization_id),
    '42501', null,
    'members cannot write usage counters'
);

-- Retention --------------------------------------------------------------------------------

select pg_temp.act_as((pg_temp.o('mine')).admin_id);
select throws_ok(
    format('select public.set_message_retention_v1(%L, 30)', (pg_temp.o('mine')).organization_id),
    'PT403', 'only owners can change how long messages are kept',
    'admins cannot set the retention'
);
select pg_temp.act_as((pg_temp.o('theirs')).owner_id);
select throws_ok(
    format('select public.set_message_retention_v1(%L, 30)', (pg_temp.o('mine')).organization_id),
    'PT404', 'organization not found',
    'another organization''s owner cannot set it'
);
select pg_temp.act_as((pg_temp.o('mine')).owner_id);
select throws_ok(
    format('select public.set_message_retention_v1(%L, 29)', (pg_temp.o('mine')).organization_id),
    '23514', null,
    'fewer than 30 days is refused'
);
select is(
    public.set_message_retention_v1((pg_temp.o('mine')).organization_id, 30),
    30,
    'an owner keeps messages 30 days'
);
select ok(
    not has_function_privilege('authenticated', 'private.delete_expired_messages_v1(integer)', 'execute'),
    'clients cannot run the retention themselves'
);

select pg_temp.act_as_service_role();
select results_eq(
    'select messages, runs, deliveries from private.delete_expired_messages_v1(100)',
    $$ values (1, 0, 0) $$,
    'the retention deletes the one expired message'
);
select results_eq(
    $$ select o.side, m.body from public.messages as m join orgs as o using (organization_id)
       order by o.side, m.body $$,
    $$ values ('mine', 'nova'), ('theirs', 'antiga'), ('theirs', 'nova') $$,
    'only the expired message of the organization that keeps 30 days went'
);
select is(
    (select sum(messages_in)::integer from public.usage_counters
     where organization_id = (pg_temp.o('mine')).organization_id),
    2,
    'the usage counters still count it'
);

-- Erasure ----------------------------------------------------------------------------------

select pg_temp.act_as((pg_temp.o('mine')).agent_id);
select throws_ok(
    format('select public.erase_contact_v1(%L)', (pg_temp.o('mine')).contact_id),
    'PT403', 'only owners and admins can erase contacts',
    'agents cannot erase contacts'
);
select pg_temp.act_as((pg_temp.o('theirs')).owner_id);
select throws_ok(
    format('select public.erase_contact_v1(%L)', (pg_temp.o('mine')).contact_id),
    'PT404', 'contact not found',
    'another organization''s owner cannot find the contact'
);
select pg_temp.act_as((pg_temp.o('mine')).admin_id);
select is(
    (select (e).messages from (select public.erase_contact_v1((pg_temp.o('mine')).contact_id) as e) as x),
    1,
    'an admin erases the contact and its message'
);
select is_empty(
    'select 1 from public.contact_erasures',
    'admins do not read the audit trail'
);
select pg_temp.act_as((pg_temp.o('theirs')).owner_id);
select is_empty(
    'select 1 from public.contact_erasures',
    'another organization''s owner does not read it'
);
select pg_temp.act_as((pg_temp.o('mine')).owner_id);
select results_eq(
    'select erased_contact_id, erased_by from public.contact_erasures',
    format('values (%L::uuid, %L::uuid)', (pg_temp.o('mine')).contact_id,
           (pg_temp.o('mine')).admin_id),
    'the owner reads who erased which contact'
);
select throws_ok(
    format('delete from public.contact_erasures where organization_id = %L',
           (pg_temp.o('mine')).organization_id),
    '42501', null,
    'not even an owner can erase the audit trail'
);

select pg_temp.reset_role();
select is(
    (select count(*)::integer from public.contacts
     where organization_id = (pg_temp.o('theirs')).organization_id),
    1,
    'the other organization''s contact is untouched'
);

select * from finish();
rollback;
