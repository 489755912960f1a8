-- public.messages partitioned by month (20261207002000_messages_partitioned.sql): its
-- partitions are out of every client role's reach (a partition read directly would skip
-- the parent's row-level security), they cover every date, and the sid judge keeps a sid
-- once across partitions.
begin;
\ir act_as.psql
select plan(8);

select is(
    (select c.relkind::text from pg_class as c where c.oid = 'public.messages'::regclass),
    'p',
    'public.messages is partitioned'
);

select is_empty(
    $$
    select c.relname::text
    from pg_inherits as i
    join pg_class as c on c.oid = i.inhrelid
    join pg_namespace as n on n.oid = c.relnamespace
    where i.inhparent = 'public.messages'::regclass and n.nspname <> 'partitions'
    $$,
    'every partition of messages lives in the schema partitions'
);

select is_empty(
    $$
    select role_name || ' uses the schema'
    from unnest(array['anon', 'authenticated', 'service_role']) as role_name
    where has_schema_privilege(role_name, 'partitions', 'usage')
    union all
    select role_name || ' on ' || c.relname || ': ' || p.privilege
    from unnest(array['anon', 'authenticated', 'service_role']) as role_name
    cross join pg_class as c
    join pg_namespace as n on n.oid = c.relnamespace
    cross join unnest(array['select', 'insert', 'update', 'delete']) as p (privilege)
    where n.nspname = 'partitions' and c.relkind in ('r', 'p')
      and has_table_privilege(role_name, c.oid, p.privilege)
    $$,
    'no client role may use the partitions schema nor any partition in it'
);

-- A member reading a partition directly is refused (and would otherwise see every
-- organization's rows: a partition has no policy of its own).
select pg_temp.act_as(gen_random_uuid());
select throws_ok(
    $$ select count(*) from partitions.messages_after $$,
    '42501',
    null,
    'authenticated cannot select from a partition directly'
);
select pg_temp.reset_role();
select pg_temp.act_as_anon();
select throws_ok(
    $$ select count(*) from partitions.messages_before $$,
    '42501',
    null,
    'anon cannot select from a partition directly'
);
select pg_temp.reset_role();

select is(
    (select string_agg(pg_get_expr(c.relpartbound, c.oid), ' | ' order by c.relname)
     from pg_inherits as i join pg_class as c on c.oid = i.inhrelid
     where i.inhparent = 'public.messages'::regclass
       and c.relname in ('messages_before', 'messages_after')) ~ 'MAXVALUE.*MINVALUE',
    true,
    'messages_before and messages_after are open-ended: every created_at has a partition'
);

select ok(
    not has_table_privilege('authenticated', 'private.message_sids', 'select')
        and not has_table_privilege('anon', 'private.message_sids', 'select'),
    'the sid judge is out of the client roles'' reach'
);

-- One sid, two months apart: the second is refused by the judge.
create function pg_temp.seed() returns uuid language plpgsql as $$
declare
    owner_id uuid := gen_random_uuid();
    organization uuid;
    channel uuid;
    contact uuid;
    conversation uuid;
begin
    insert into auth.users (id, email, created_at) values (owner_id, 'p@example.com', now());
    insert into public.profiles (id, email, full_name) values (owner_id, 'p@example.com', 'P');
    insert into public.organizations (name) values ('Org') returning id into organization;
    insert into public.memberships (organization_id, user_id, role)
    values (organization, owner_id, 'owner');
    insert into public.channels (organization_id, kind, phone_number, twilio_account_sid,
                                 twilio_auth_token_ciphertext)
    values (organization, 'whatsapp', '+5511987650000', 'AC' || md5('p'), 'ciphertext')
    returning id into channel;
    insert into public.contacts (organization_id, phone_number)
    values (organization, '+5521987654321') returning id into contact;
    insert into public.conversations (organization_id, channel_id, contact_id)
    values (organization, channel, contact) returning id into conversation;
    insert into public.messages (organization_id, conversation_id, direction, author, status,
                                 created_at, metadata)
    values (organization, conversation, 'inbound', 'contact', 'received',
            now() - interval '40 days', '{"message_sid": "SMpartitioned"}');
    return conversation;
end;
$$;
create temp table seeded as select pg_temp.seed() as conversation;

select throws_ok(
    $$
    insert into public.messages (organization_id, conversation_id, direction, author, status,
                                 metadata)
    select c.organization_id, c.id, 'inbound', 'contact', 'received',
           '{"message_sid": "SMpartitioned"}'
    from public.conversations as c join seeded as s on s.conversation = c.id
    $$,
    '23505',
    'duplicate key value violates unique constraint "messages_message_sid_key"',
    'a sid stored last month is refused this month'
);

select * from finish();
rollback;
