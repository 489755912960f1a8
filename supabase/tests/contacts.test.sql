-- Contacts the team manages (20261207001500_contacts_management.sql): any member creates
-- and changes its organization's contacts, tags are kept normalised, owners and admins
-- import, another organization sees and touches nothing (contacts and imports), and an
-- import's batch creates or merges by phone number.
begin;
\ir act_as.psql
select plan(22);

create function pg_temp.seed(label text, out organization_id uuid, out owner_id uuid,
                             out agent_id uuid)
    language plpgsql
as $$
begin
    owner_id := gen_random_uuid();
    agent_id := gen_random_uuid();
    insert into auth.users (id, email, created_at)
    values (owner_id, 'owner-' || label || '@example.com', now()),
           (agent_id, 'agent-' || label || '@example.com', now());
    insert into public.profiles (id, email, full_name)
    values (owner_id, 'owner-' || label || '@example.com', 'Owner ' || label),
           (agent_id, 'agent-' || label || '@example.com', 'Agent ' || label);
    insert into public.organizations (name) values ('Org ' || label) returning id into organization_id;
    insert into public.memberships (organization_id, user_id, role)
    values (organization_id, owner_id, 'owner'), (organization_id, agent_id, 'agent');
end;
$$;

create temp table orgs as
select 'mine' as side, * from pg_temp.seed('mine')
union all
select 'theirs' as side, * from pg_temp.seed('theirs');
grant select on orgs to authenticated, service_role;

create function pg_temp.org(side text) returns uuid language sql as
$$ select organization_id from orgs where orgs.side = org.side $$;
create function pg_temp.owner_of(side text) returns uuid language sql as
$$ select owner_id from orgs where orgs.side = owner_of.side $$;
create function pg_temp.agent_of(side text) returns uuid language sql as
$$ select agent_id from orgs where orgs.side = agent_of.side $$;

create temp table results (label text, outcome text, id uuid);
grant all on results to authenticated, service_role;

-- Creating -------------------------------------------------------------------------------

select pg_temp.act_as(pg_temp.agent_of('mine'));
insert into results select 'agent creates', * from public.create_contact_v1(
    pg_temp.org('mine'), '+5511987654321', ' Maria ', '{"plano": "ouro"}',
    array[' VIP ', 'Clientes  SP', 'vip']);
insert into results select 'again', * from public.create_contact_v1(
    pg_temp.org('mine'), '+5511987654321', 'Outra');
select pg_temp.act_as(pg_temp.owner_of('theirs'));
insert into results select 'other org creates', * from public.create_contact_v1(
    pg_temp.org('mine'), '+5511911112222');
select pg_temp.reset_role();

select is((select outcome from results where label = 'agent creates'), 'created',
          'an agent creates a contact');
select is(
    (select display_name || '|' || attributes::text || '|' || tags::text from public.contacts
     where id = (select id from results where label = 'agent creates')),
    'Maria|{"plano": "ouro"}|{"clientes sp",vip}',
    'its name is trimmed and its tags normalised (lower-case, spaces collapsed, distinct, sorted)'
);
select is((select outcome || '/' || (id = (select id from results where label = 'agent creates'))
           from results where label = 'again'),
          'exists/true', 'a number already a contact answers exists, with that contact');
select is((select outcome from results where label = 'other org creates'), 'not_found',
          'another organization''s owner cannot create a contact here');
select is((select count(*) from public.contacts where phone_number = '+5511911112222'), 0::bigint,
          '... and nothing was stored');

-- Changing -------------------------------------------------------------------------------

select pg_temp.act_as(pg_temp.owner_of('theirs'));
insert into results select 'other org updates', * from public.update_contact_v1(
    (select id from results where label = 'agent creates'), 'Hacked', '{}', '{}');
select is((select outcome from results where label = 'other org updates'), 'not_found',
          'another organization''s owner cannot change the contact');
select is((select count(*) from public.contacts), 0::bigint,
          'another organization''s owner sees none of its contacts');
select pg_temp.act_as(pg_temp.agent_of('mine'));
insert into results select 'agent updates', * from public.update_contact_v1(
    (select id from results where label = 'agent creates'), null, null, array['Retorno']);
select pg_temp.reset_role();
select is(
    (select display_name || '|' || attributes::text || '|' || tags::text from public.contacts
     where id = (select id from results where label = 'agent creates')),
    'Maria|{"plano": "ouro"}|{retorno}',
    'an agent replaces the tags; what was left out stays'
);

select throws_ok(
    $$ insert into public.contacts (organization_id, phone_number, tags)
       values (pg_temp.org('mine'), '+5511933334444', array['VIP']) $$,
    '23514', null, 'a tag not normalised is refused by the table'
);
select throws_ok(
    $$ insert into public.contacts (organization_id, phone_number, tags)
       values (pg_temp.org('mine'), '+5511933334444', array['a,b']) $$,
    '23514', null, 'a tag with a comma is refused by the table'
);
select throws_ok(
    $$ insert into public.contacts (organization_id, phone_number, attributes)
       values (pg_temp.org('mine'), '+5511933334444', '[1, 2]') $$,
    '23514', null, 'attributes that are not an object are refused'
);

-- A member's plain rename still works: the tags' check runs as the caller.
select pg_temp.act_as(pg_temp.agent_of('mine'));
update public.contacts set display_name = 'Maria Silva'
where id = (select id from results where label = 'agent creates');
select pg_temp.reset_role();
select is((select display_name from public.contacts
           where id = (select id from results where label = 'agent creates')),
          'Maria Silva', 'a member renames a contact with tags');

-- Imports --------------------------------------------------------------------------------

select pg_temp.act_as(pg_temp.agent_of('mine'));
insert into results select 'agent imports', * from public.create_contact_import_v1(
    pg_temp.org('mine'), 'a.csv', 'telefone', 0);
select pg_temp.act_as(pg_temp.owner_of('theirs'));
insert into results select 'other org imports', * from public.create_contact_import_v1(
    pg_temp.org('mine'), 'a.csv', 'telefone', 0);
select pg_temp.act_as(pg_temp.owner_of('mine'));
insert into results select 'owner imports', * from public.create_contact_import_v1(
    pg_temp.org('mine'), 'clientes.csv', E'telefone,nome\n11 98765-4321,Maria\n', 1);
select pg_temp.reset_role();

select is((select outcome from results where label = 'agent imports'), 'forbidden',
          'an agent cannot import');
select is((select outcome from results where label = 'other org imports'), 'not_found',
          'another organization''s owner cannot import here');
select is(
    (select count(*) from procrastinate.procrastinate_jobs
     where task_name = 'contacts:import_contacts'
       and args ->> 'import_id' = (select id::text from results where label = 'owner imports')),
    1::bigint, 'an owner''s import defers its job in the same transaction'
);

select pg_temp.act_as(pg_temp.owner_of('theirs'));
select is((select count(*) from public.contact_imports), 0::bigint,
          'another organization''s owner sees none of its imports');
select pg_temp.act_as(pg_temp.agent_of('mine'));
select is((select count(*) from public.contact_imports), 0::bigint, 'an agent sees no import');
select pg_temp.act_as(pg_temp.owner_of('mine'));
select is((select status from public.contact_imports), 'pending', 'the owner sees the import');
select throws_ok($$ select source from public.contact_imports $$, '42501', null,
                 'the file''s text is not readable by members');
select throws_ok(
    $$ update public.contact_imports set status = 'succeeded' $$, '42501', null,
    'members cannot change an import'
);
select pg_temp.reset_role();

-- The job's batch: creates the new number, merges into the one already there.
update public.contact_imports set status = 'writing'
where id = (select id from results where label = 'owner imports');
select pg_temp.act_as_service_role();
select is(
    (select created || '/' || updated from private.write_contact_import_v1(
        (select id from results where label = 'owner imports'),
        '[{"phone_number": "+5511987654321", "name": "", "attributes": {"cidade": "SP"}, "tags": ["Novo"]},
          {"phone_number": "+5511955556666", "name": "João", "attributes": {}, "tags": []}]')),
    '1/1', 'a batch reports what it created and updated'
);
select pg_temp.reset_role();
select is(
    (select display_name || '|' || attributes::text || '|' || tags::text from public.contacts
     where phone_number = '+5511987654321' and organization_id = pg_temp.org('mine')),
    'Maria Silva|{"plano": "ouro", "cidade": "SP"}|{novo,retorno}',
    'an imported row keeps the name when its cell is empty, merges attributes, adds tags'
);

select * from finish();
rollback;
