-- Tenant isolation, table by table: a member of one organization can neither read,
-- change, delete nor add rows of another organization, in any table a client can reach;
-- nor can an API key of that organization (an owner's key: the strongest there is).
--
-- Driven by the catalogue: every table in `public` with an organization_id column is
-- attacked through it; tables without one are listed in `tenant_keys` below with the
-- column that ties them to a tenant. A table that is neither makes the suite fail, and
-- so does a table left without rows to attack: when you add a table, add its rows to
-- pg_temp.seed_tenant.

begin;
\ir act_as.psql
-- One test that every table is tied to a tenant, then seven per table (its rows exist,
-- members read their own, no reading, updating, deleting or inserting across tenants,
-- the victim's rows are all still there) for the 24 tables of public, then the same but
-- the first as an API key (23 tables: read positions are a person's, a key has none):
-- a new table changes the count.
select plan(312);

-- Two organizations with one of everything --------------------------------------------

create function pg_temp.seed_tenant(
    label text, out organization_id uuid, out user_id uuid, out api_key_id uuid
)
    language plpgsql
as $$
declare
    channel uuid;
    contact uuid;
    conversation uuid;
    document uuid;
    endpoint uuid;
    delivery uuid;
    broadcast uuid;
    invitee uuid := gen_random_uuid();
begin
    user_id := gen_random_uuid();
    insert into auth.users (id, email, created_at) values (user_id, label || '@example.com', now());
    insert into public.profiles (id, email, full_name)
    values (user_id, label || '@example.com', 'Owner ' || label);
    insert into public.organizations (name) values ('Org ' || label) returning id into organization_id;
    insert into public.memberships (organization_id, user_id, role)
    values (organization_id, user_id, 'owner');
    -- A second member, an agent.
    insert into auth.users (id, email, created_at)
    values (invitee, 'invitee-' || label || '@example.com', now());
    insert into public.profiles (id, email, full_name)
    values (invitee, 'invitee-' || label || '@example.com', 'Invitee ' || label);
    insert into public.memberships (organization_id, user_id, role)
    values (organization_id, invitee, 'agent');
    -- And an address invited, not yet accepted.
    insert into public.invitations (organization_id, email, role, invited_by, token_hash, expires_at)
    values (organization_id, 'new-' || label || '@example.com', 'agent', user_id,
            encode(sha256(convert_to(label, 'utf8')), 'hex'), now() + interval '7 days');
    insert into public.channels (organization_id, kind, phone_number, twilio_account_sid,
                                 twilio_auth_token_ciphertext)
    values (organization_id, 'whatsapp',
            '+55119' || lpad((abs(hashtext(label)) % 100000000)::text, 8, '0'),
            'AC' || md5(label), 'ciphertext')
    returning id into channel;
    insert into public.contacts (organization_id, phone_number, profile_name)
    values (organization_id, '+5521987654321', 'Cliente ' || label)
    returning id into contact;
    insert into public.conversations (organization_id, channel_id, contact_id, last_inbound_at)
    values (organization_id, channel, contact, now())
    returning id into conversation;
    insert into public.messages (organization_id, conversation_id, direction, author, body,
                                 status, metadata)
    values (organization_id, conversation, 'inbound', 'contact', 'Olá', 'received',
            jsonb_build_object('message_sid', 'SM' || md5(label)));
    insert into public.conversation_reads (organization_id, conversation_id, user_id)
    values (organization_id, conversation, user_id);
    insert into public.ai_runs (organization_id, conversation_id, model, outcome)
    values (organization_id, conversation, 'gpt-4o-mini', 'replied');
    insert into public.channel_templates (organization_id, channel_id, name, content_sid)
    values (organization_id, channel, 'lembrete', 'HX' || md5(label));
    insert into public.knowledge_documents (organization_id, title, content, status)
    values (organization_id, 'Cardápio ' || label, 'Bolo de cenoura: R$ 48,00', 'ready')
    returning id into document;
    insert into public.knowledge_passages (organization_id, document_id, position, content,
                                           embedder, dimensions, embedding)
    values (organization_id, document, 0, 'Bolo de cenoura: R$ 48,00', 'test', 3,
            '[0.1, 0.2, 0.3]');
    -- An owner's API key (20261207001310_api_keys.sql).
    insert into public.api_keys (organization_id, name, role, prefix, secret_digest, created_by)
    values (organization_id, 'Chave ' || label, 'owner', 'atende_' || left(md5(label), 8),
            encode(sha256(convert_to('key-' || label, 'utf8')), 'hex'), user_id)
    returning id into api_key_id;
    -- A webhook endpoint and a delivery (20261207001320_outgoing_webhooks.sql).
    insert into public.webhook_endpoints (organization_id, url, events, secret_ciphertext)
    values (organization_id, 'https://hooks.example.com/' || label, '{message.received}',
            'ciphertext')
    returning id into endpoint;
    insert into public.webhook_deliveries (organization_id, endpoint_id, event_type, payload)
    values (organization_id, endpoint, 'message.received', '{"type": "message.received"}')
    returning id into delivery;
    -- One attempt of it (20261207001700_webhook_delivery_attempts.sql).
    insert into public.webhook_delivery_attempts (organization_id, delivery_id, attempt,
                                                  status_code, duration_ms)
    values (organization_id, delivery, 1, 500, 12);
    -- A contact import (20261207001500_contacts_management.sql).
    insert into public.contact_imports (organization_id, created_by, file_name, source, total_rows)
    values (organization_id, user_id, 'contatos-' || label || '.csv', 'telefone', 0);
    -- A scheduled message (20261207001540_scheduled_messages.sql).
    insert into public.scheduled_messages (organization_id, conversation_id, body, send_at)
    values (organization_id, conversation, 'Lembrete ' || label, now() + interval '1 day');
    -- A broadcast and its recipient (20261207001560_broadcasts.sql).
    insert into public.broadcasts (organization_id, channel_id, content_sid, template_name,
                                   rate_per_second, total)
    values (organization_id, channel, 'HX' || md5(label), 'promo', 80, 1)
    returning id into broadcast;
    insert into public.broadcast_recipients (broadcast_id, contact_id, organization_id,
                                             position)
    values (broadcast, contact, organization_id, 1);
    -- An erasure's audit row (20261207001800_retention_and_erasure.sql); the usage
    -- counters come with the message and the AI run above, by trigger.
    insert into public.contact_erasures (organization_id, erased_contact_id, phone_digest,
                                         erased_by, conversations, messages, files)
    values (organization_id, gen_random_uuid(), md5(label), user_id, 1, 1, 0);
    -- public.agents: made by a trigger with each organization.
end;
$$;

create temp table tenants as
select 'attacker' as side, * from pg_temp.seed_tenant('attacker')
union all
select 'victim' as side, * from pg_temp.seed_tenant('victim');

-- How each table is tied to a tenant ----------------------------------------------------

create temp table tenant_keys (table_name text primary key, key_column text, key_of text);
insert into tenant_keys values
    ('organizations', 'id', 'organization'),
    ('profiles', 'id', 'user');
insert into tenant_keys
select c.table_name, 'organization_id', 'organization'
from information_schema.columns as c
join information_schema.tables as t using (table_schema, table_name)
where c.table_schema = 'public' and c.column_name = 'organization_id'
  and t.table_type = 'BASE TABLE'
  and c.table_name not in (select table_name from tenant_keys);

select is_empty(
    $$
    select table_name::text from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE'
    except
    select table_name from tenant_keys
    $$,
    'every table in public is tied to a tenant (organization_id, or listed in tenant_keys)'
);

-- The attack ----------------------------------------------------------------------------

-- As the attacker's owner (`as_api_key` false) or the attacker's API key (true).
create function pg_temp.attack(table_name text, key_column text, key_of text,
                               as_api_key boolean default false)
    returns setof text
    language plpgsql
as $$
declare
    target regclass := format('public.%I', table_name)::regclass;
    victim_key uuid;
    attacker_key uuid;
    attacker_user uuid := (select case when as_api_key then api_key_id else user_id end
                           from tenants where side = 'attacker');
    who text := case when as_api_key then ' (as an API key)' else '' end;
    sample text;
    updatable_column text;
    insertable_columns text;
    affected bigint;
begin
    select case key_of when 'user' then user_id else organization_id end into victim_key
    from tenants where side = 'victim';
    select case key_of when 'user' then user_id else organization_id end into attacker_key
    from tenants where side = 'attacker';

    execute format('select count(*) from %s where %I = $1', target, key_column)
        into affected using victim_key;
    if not as_api_key then
        return next ok(affected > 0, format('%s: the victim has rows to attack', table_name));
    end if;
    execute format('select t::text from %s as t where %I = $1 limit 1', target, key_column)
        into sample using victim_key;
    select column_name into updatable_column
    from information_schema.columns
    where table_schema = 'public' and columns.table_name = attack.table_name
      and has_column_privilege('authenticated', target, column_name, 'UPDATE')
    order by ordinal_position limit 1;

    perform pg_temp.act_as(attacker_user);

    if has_any_column_privilege('authenticated', target, 'SELECT')
        and not (as_api_key and table_name = 'conversation_reads') then
        execute format('select count(*) from %s where %I = $1', target, key_column)
            into affected using attacker_key;
        return next ok(affected > 0, format('%s: members read their own rows%s', table_name, who));
    end if;

    begin
        execute format('select count(*) from %s where %I = $1', target, key_column)
            into affected using victim_key;
    exception when insufficient_privilege then
        affected := 0;
    end;
    return next is(affected, 0::bigint, format('%s: no reading across tenants%s', table_name, who));

    affected := 0;
    if updatable_column is not null then
        begin
            execute format('update %s set %I = %I where %I = $1', target, updatable_column,
                           updatable_column, key_column)
                using victim_key;
            get diagnostics affected = row_count;
        exception when insufficient_privilege then
            affected := 0;
        end;
    end if;
    return next is(affected, 0::bigint, format('%s: no updating across tenants%s', table_name, who));

    begin
        execute format('delete from %s where %I = $1', target, key_column) using victim_key;
        get diagnostics affected = row_count;
    exception when insufficient_privilege then
        affected := 0;
    end;
    return next is(affected, 0::bigint, format('%s: no deleting across tenants%s', table_name, who));

    -- A copy of the victim's row (its generated and always-identity columns left to the
    -- table, which refuses values for them before any privilege is checked):
    -- row-level security (or the grants) must refuse it before any constraint gets a say.
    select string_agg(format('%I', a.attname), ', ' order by a.attnum) into insertable_columns
    from pg_attribute as a
    where a.attrelid = target and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
      and a.attidentity <> 'a';
    begin
        execute format('insert into %s (%s) select %s from (select ($1::%s).*) as victim',
                       target, insertable_columns, insertable_columns, target)
            using sample;
        get diagnostics affected = row_count;
    exception when insufficient_privilege then
        affected := 0;
    end;
    return next is(affected, 0::bigint,
                   format('%s: no inserting into another tenant%s', table_name, who));

    perform pg_temp.reset_role();

    execute format('select count(*) from %s where %I = $1', target, key_column)
        into affected using victim_key;
    return next ok(affected > 0,
                   format('%s: the victim''s rows are all still there%s', table_name, who));
end;
$$;

select pg_temp.attack(table_name, key_column, key_of)
from tenant_keys
order by table_name;

select pg_temp.attack(table_name, key_column, key_of, as_api_key => true)
from tenant_keys
order by table_name;

select * from finish();
rollback;
