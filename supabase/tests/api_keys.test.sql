-- API keys (20261207001310_api_keys.sql), as the real roles: who makes and revokes keys,
-- what a key sees and may do (what a member of its role may, in its organization alone,
-- while it is not revoked), what it may never do, and how its use is counted.
-- cross_tenant.test.sql attacks every table with a key too.
begin;
\ir act_as.psql
select plan(38);

-- Two organizations: Padaria (an owner, an admin, an agent) and Oficina (an owner).
create temp table people (label text primary key, id uuid not null default gen_random_uuid());
insert into people (label) values ('dona'), ('gerente'), ('atendente'), ('outra');
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
select padaria, (select id from people where label = 'dona'), 'owner'::public.membership_role from ids
union all select padaria, (select id from people where label = 'gerente'), 'admin' from ids
union all select padaria, (select id from people where label = 'atendente'), 'agent' from ids
union all select oficina, (select id from people where label = 'outra'), 'owner' from ids;
insert into public.channels (id, organization_id, kind, phone_number, twilio_account_sid,
                             twilio_auth_token_ciphertext)
select channel_id, padaria, 'whatsapp', '+5511900000001', 'AC' || md5('p'), 'c' from ids;
insert into public.channels (organization_id, kind, phone_number, twilio_account_sid,
                             twilio_auth_token_ciphertext)
select oficina, 'whatsapp', '+5511900000002', 'AC' || md5('o'), 'c' from ids;
insert into public.contacts (id, organization_id, phone_number)
select contact_id, padaria, '+5521900000001' from ids;
insert into public.contacts (organization_id, phone_number)
select oficina, '+5521900000002' from ids;
insert into public.conversations (id, organization_id, channel_id, contact_id, last_inbound_at)
select conversation_id, padaria, channel_id, contact_id, now() from ids;
insert into public.conversations (id, organization_id, channel_id, contact_id, last_inbound_at)
select ids.oficina_conversation_id, ids.oficina, ch.id, ct.id, now()
from ids, public.channels as ch, public.contacts as ct
where ch.organization_id = ids.oficina and ct.organization_id = ids.oficina;

create temp table keys (label text primary key, id uuid, secret text);
grant select on people, ids to authenticated, service_role;
grant select, insert, update on keys to authenticated, service_role;

create function pg_temp.person(label text) returns uuid
    language sql stable as $$ select id from people where people.label = person.label $$;
create function pg_temp.key(label text) returns uuid
    language sql stable as $$ select id from keys where keys.label = key.label $$;
-- How many agents the caller's update of the agent's name reached.
create function pg_temp.rename_agents(new_name text) returns integer
    language plpgsql as $$
declare
    changed integer;
begin
    update public.agents set name = new_name;
    get diagnostics changed = row_count;
    return changed;
end;
$$;

-- Who makes keys ------------------------------------------------------------------------

select pg_temp.act_as(pg_temp.person('atendente'));
select throws_ok(
    $$ select * from public.create_api_key_v1((select padaria from ids), 'CRM', 'agent') $$,
    'PT403', 'only owners and admins can create API keys', 'an agent makes no key'
);
select pg_temp.act_as(pg_temp.person('outra'));
select throws_ok(
    $$ select * from public.create_api_key_v1((select padaria from ids), 'CRM', 'agent') $$,
    'PT404', 'organization not found', 'a non-member learns nothing about the organization'
);
select pg_temp.act_as(pg_temp.person('gerente'));
select throws_ok(
    $$ select * from public.create_api_key_v1((select padaria from ids), 'CRM', 'owner') $$,
    'PT403', 'only an owner can create an owner key', 'an admin makes no owner key'
);
select throws_ok(
    $$ select * from public.create_api_key_v1((select padaria from ids), '   ', 'agent') $$,
    '23514', null, 'a key needs a name'
);

insert into keys (label, id, secret)
select 'admin', api_key_id, secret
from public.create_api_key_v1((select padaria from ids), ' Planilha ', 'admin');
insert into keys (label, id, secret)
select 'agent', api_key_id, secret
from public.create_api_key_v1((select padaria from ids), 'CRM', 'agent');
select pg_temp.act_as(pg_temp.person('dona'));
insert into keys (label, id, secret)
select 'owner', api_key_id, secret
from public.create_api_key_v1((select padaria from ids), 'ERP', 'owner');
select pg_temp.act_as(pg_temp.person('outra'));
insert into keys (label, id, secret)
select 'oficina', api_key_id, secret
from public.create_api_key_v1((select oficina from ids), 'Oficina', 'owner');

select pg_temp.reset_role();
select ok(
    (select bool_and(secret ~ '^atende_[A-Za-z0-9_-]{43}$') from keys),
    'a secret is atende_ and 256 random bits in base64url'
);
select is(
    (select count(*)::integer from public.api_keys as k join keys using (id)
     where k.secret_digest = encode(sha256(convert_to(keys.secret, 'UTF8')), 'hex')
       and k.prefix = left(keys.secret, 15)
       and position(keys.secret in k::text) = 0),
    4,
    'only the secret''s digest and prefix are kept'
);
select results_eq(
    $$ select name, role::text, created_by from public.api_keys
       where id = pg_temp.key('admin') $$,
    $$ values ('Planilha', 'admin', pg_temp.person('gerente')) $$,
    'a key records its trimmed name, its role and who made it'
);

-- Who sees keys -------------------------------------------------------------------------

select pg_temp.act_as(pg_temp.person('gerente'));
select is(
    (select array_agg(name order by name) from public.api_keys),
    array['CRM', 'ERP', 'Planilha'],
    'owners and admins see their organization''s keys, and no other''s'
);
select throws_ok(
    $$ select secret_digest from public.api_keys $$,
    '42501', null, 'nobody reads a digest'
);
select pg_temp.act_as(pg_temp.person('atendente'));
select is_empty($$ select id from public.api_keys $$, 'agents see no keys');

-- What a key is ------------------------------------------------------------------------

select pg_temp.act_as(pg_temp.key('agent'));
select results_eq(
    $$ select * from private.organizations_of_caller() $$,
    $$ select padaria from ids $$,
    'a key belongs to its organization alone'
);
select is(private.caller_role_in((select padaria from ids)), 'agent'::public.membership_role,
          'with its role');
select results_eq(
    $$ select id from public.conversations $$,
    $$ select conversation_id from ids $$,
    'a key reads its organization''s conversations, and no other''s'
);
select is_empty($$ select id from public.api_keys $$, 'an agent key sees no keys');
select results_eq(
    $$ select count(*)::integer from public.profiles $$,
    $$ values (3) $$,
    'a key sees its organization''s team, as a member does (it has no profile of its own)'
);
select is(
    pg_temp.rename_agents('Robô'),
    0,
    'an agent key cannot change the agent''s settings'
);

select pg_temp.act_as(pg_temp.key('admin'));
select is(
    pg_temp.rename_agents('Robô'),
    1,
    'an admin key changes its own organization''s agent, as an admin does'
);
select is(
    (select count(*)::integer from public.api_keys),
    3,
    'an admin key lists its organization''s keys'
);

-- What a key never does -----------------------------------------------------------------

select throws_ok(
    $$ select * from public.create_api_key_v1((select padaria from ids), 'Outra', 'agent') $$,
    'PT403', 'API keys cannot create API keys', 'a key makes no key'
);
select throws_ok(
    $$ select public.revoke_api_key_v1(pg_temp.key('agent')) $$,
    'PT403', 'API keys cannot revoke API keys', 'a key revokes no key'
);
select pg_temp.act_as(pg_temp.key('owner'));
select throws_ok(
    $$ select public.update_member_role_v1((select padaria from ids), pg_temp.person('atendente'),
                                            'admin') $$,
    'PT403', 'API keys cannot change members', 'an owner key changes no member''s role'
);
select throws_ok(
    $$ select public.remove_member_v1((select padaria from ids), pg_temp.person('atendente')) $$,
    'PT403', 'API keys cannot change members', 'an owner key removes no member'
);
select pg_temp.reset_role();
select is(
    (select count(*)::integer from public.memberships
     where organization_id = (select padaria from ids) and role = 'owner'),
    1,
    'an owner key is no owner: the organization''s owners are its people'
);

-- Sending as a key ----------------------------------------------------------------------

select pg_temp.act_as(pg_temp.key('agent'));
select is(
    (select outcome from public.send_member_message_v1((select conversation_id from ids), 'Olá!')),
    'queued',
    'a key replies as a member does'
);
select is(
    (select outcome from public.send_member_message_v1((select oficina_conversation_id from ids),
                                                       'Olá!')),
    'not_found',
    'but not in another organization'
);
select pg_temp.reset_role();
insert into public.channel_templates (organization_id, channel_id, name, content_sid, variables, body)
select padaria, channel_id, 'pedido', 'HX' || md5('pedido'), '[{"key": "1", "name": "Pedido"}]', 'Pedido {{1}} saiu'
from ids;
select pg_temp.act_as(pg_temp.key('agent'));
select isnt(
    public.send_template_message_v1((select conversation_id from ids),
                                    (select id from public.channel_templates), '{"1": "42"}'),
    null,
    'and sends templates'
);
select pg_temp.reset_role();
select results_eq(
    $$ select author::text, author_member_id, metadata ->> 'api_key_id'
       from public.messages where direction = 'outbound' order by body $$,
    $$ values ('member', null::uuid, pg_temp.key('agent')::text),
              ('member', null::uuid, pg_temp.key('agent')::text) $$,
    'its messages name the key, and no member'
);

-- Revoking ------------------------------------------------------------------------------

select pg_temp.act_as(pg_temp.person('gerente'));
select throws_ok(
    $$ select public.revoke_api_key_v1(pg_temp.key('owner')) $$,
    'PT403', 'only an owner can revoke an owner key', 'an admin revokes no owner key'
);
select pg_temp.act_as(pg_temp.person('atendente'));
select throws_ok(
    $$ select public.revoke_api_key_v1(pg_temp.key('agent')) $$,
    'PT404', 'API key not found', 'an agent revokes nothing'
);
select pg_temp.act_as(pg_temp.person('outra'));
select throws_ok(
    $$ select public.revoke_api_key_v1(pg_temp.key('agent')) $$,
    'PT404', 'API key not found', 'nor does another organization'
);
select pg_temp.act_as(pg_temp.person('gerente'));
select is(public.revoke_api_key_v1(pg_temp.key('agent')), pg_temp.key('agent'),
          'an admin revokes a key');
select pg_temp.reset_role();
update public.api_keys set revoked_at = revoked_at - interval '1 hour'
where id = pg_temp.key('agent');
select pg_temp.act_as(pg_temp.person('dona'));
select public.revoke_api_key_v1(pg_temp.key('agent'));
select pg_temp.reset_role();
select results_eq(
    $$ select revoked_at < now() - interval '59 minutes', revoked_by from public.api_keys
       where id = pg_temp.key('agent') $$,
    $$ values (true, pg_temp.person('gerente')) $$,
    'revoking again changes nothing'
);

select pg_temp.act_as(pg_temp.key('agent'));
select is_empty($$ select * from private.organizations_of_caller() $$,
                'a revoked key belongs nowhere');
select is_empty($$ select * from public.conversations $$, 'and reads nothing');
select is(
    (select outcome from public.send_member_message_v1((select conversation_id from ids), 'Oi')),
    'not_found',
    'and sends nothing'
);

-- Use -----------------------------------------------------------------------------------

select pg_temp.act_as_service_role();
select results_eq(
    $$ select api_key_id, uses_in_window from private.record_api_key_uses_v1(
           array[pg_temp.key('admin'), pg_temp.key('owner'), pg_temp.key('admin')],
           array[date_trunc('minute', now()), date_trunc('minute', now()),
                 date_trunc('minute', now())],
           array[3, 1, 2], interval '1 minute')
       order by uses_in_window $$,
    $$ values (pg_temp.key('owner'), 1), (pg_temp.key('admin'), 5) $$,
    'uses are added up per key and window'
);
select results_eq(
    $$ select uses_in_window from private.record_api_key_uses_v1(
           array[pg_temp.key('admin')], array[date_trunc('minute', now())], array[4],
           interval '1 minute') $$,
    $$ values (9) $$,
    'and the window''s total comes back, whichever process counted them'
);
select pg_temp.reset_role();
update public.api_keys set last_used_at = now() - interval '30 seconds'
where id = pg_temp.key('owner');
update public.api_keys set last_used_at = now() - interval '2 minutes'
where id = pg_temp.key('admin');
select pg_temp.act_as_service_role();
select private.record_api_key_uses_v1(
    array[pg_temp.key('admin'), pg_temp.key('owner')],
    array[date_trunc('minute', now()), date_trunc('minute', now())], array[1, 1],
    interval '1 minute');
select pg_temp.reset_role();
select results_eq(
    $$ select label, last_used_at = now() from public.api_keys join keys using (id)
       where label in ('admin', 'owner') order by label $$,
    $$ values ('admin', true), ('owner', false) $$,
    'lastUsedAt moves once a minute at most'
);

select * from finish();
rollback;
