-- The knowledge base's rules: owners and admins add, change and remove their
-- organization's documents (each change defers the indexing job in its transaction),
-- agents only read, another organization sees and touches nothing, and the indexing job
-- stores a document's passages whole, never over a newer revision.
begin;
\ir act_as.psql
select plan(30);

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

create function pg_temp.jobs_for(document uuid) returns bigint language sql as $$
    select count(*) from procrastinate.procrastinate_jobs
    where task_name = 'knowledge:index_document' and args ->> 'document_id' = document::text
$$;

-- Adding ---------------------------------------------------------------------------------

select pg_temp.act_as(pg_temp.owner_of('mine'));
create temp table added as
select * from public.add_knowledge_document_v1(pg_temp.org('mine'), ' Cardápio ', '# Bolos\n\nCenoura: R$ 48');
select pg_temp.reset_role();
grant select on added to authenticated, service_role;

select is((select outcome from added), 'added', 'an owner adds a document');
select is(
    (select status || '/' || title || '/' || revision from public.knowledge_documents
     where id = (select id from added)),
    'pending/Cardápio/1',
    'it waits for indexing, its title trimmed'
);
select is(pg_temp.jobs_for((select id from added)), 1::bigint,
          'its indexing job was deferred in the same transaction');

select pg_temp.act_as(pg_temp.agent_of('mine'));
select is(
    (select outcome from public.add_knowledge_document_v1(pg_temp.org('mine'), 'Preços', 'x')),
    'forbidden',
    'an agent may not add documents'
);
select is((select count(*) from public.knowledge_documents), 1::bigint,
          'an agent reads the organization''s documents');

select pg_temp.act_as(pg_temp.owner_of('theirs'));
select is(
    (select outcome from public.add_knowledge_document_v1(pg_temp.org('mine'), 'Intruso', 'x')),
    'not_found',
    'another organization''s owner cannot add to it'
);
select is((select count(*) from public.knowledge_documents), 0::bigint,
          'another organization reads none of its documents');

select pg_temp.act_as_anon();
select throws_ok(
    $$ select * from public.add_knowledge_document_v1(pg_temp.org('mine'), 'x', 'y') $$,
    '42501', null, 'anon cannot call it at all'
);

-- Indexing -------------------------------------------------------------------------------

select pg_temp.act_as_service_role();
select is(
    private.store_knowledge_passages_v1(
        (select id from added), 1, 'test-embedder',
        '[{"position": 0, "heading": "Cardápio > Bolos", "content": "Cenoura: R$ 48",
           "embedding": [0.1, 0.2, 0.3]},
          {"position": 1, "heading": "Cardápio > Bolos", "content": "Fubá: R$ 40",
           "embedding": [0.3, 0.2, 0.1]}]'::jsonb
    ),
    'stored',
    'the job stores the passages of the revision it read'
);
select is(
    (select status || '/' || chunk_count || '/' || embedder from public.knowledge_documents
     where id = (select id from added)),
    'ready/2/test-embedder',
    'the document is ready with its passage count and embedder'
);
select ok(
    (select search_vector @@ to_tsquery('private.knowledge_portuguese', 'cardapio')
     from public.knowledge_passages where document_id = (select id from added) and position = 0),
    'passages are found by their headings, accents folded'
);

select pg_temp.act_as(pg_temp.agent_of('mine'));
select is((select count(*) from public.knowledge_passages), 2::bigint,
          'members read their organization''s passages');
select pg_temp.act_as(pg_temp.owner_of('theirs'));
select is((select count(*) from public.knowledge_passages), 0::bigint,
          'another organization reads none of its passages');
select throws_ok(
    $$ insert into public.knowledge_passages (organization_id, document_id, position, content,
                                              embedder, dimensions, embedding)
       values (pg_temp.org('mine'), (select id from added), 9, 'x', 'e', 1, '[1]') $$,
    '42501', null, 'clients cannot write passages'
);

-- The search's full-text leg (private.knowledge_full_text_matches_v1) runs as its owner,
-- so it makes the policy's check itself.
create function pg_temp.full_text_matches(side text, words text) returns bigint
    language sql as $$
    select count(*) from private.knowledge_full_text_matches_v1(
        pg_temp.org(side), to_tsquery('private.knowledge_portuguese', words), 20)
$$;
select is(pg_temp.full_text_matches('mine', 'cenoura'), 0::bigint,
          'the full-text leg finds nothing for another organization''s member');
select pg_temp.act_as(pg_temp.agent_of('mine'));
select is(pg_temp.full_text_matches('mine', 'cenoura'), 1::bigint,
          'it finds its own organization''s passages for a member');
select pg_temp.act_as_service_role();
select is(pg_temp.full_text_matches('mine', 'cardapio'), 2::bigint,
          'and any organization''s for the platform');
select pg_temp.org('mine') as mine_org, pg_temp.owner_of('theirs') as their_owner \gset
select pg_temp.act_as_anon();
select throws_ok(
    format($$ select count(*) from private.knowledge_full_text_matches_v1(
                  %L, to_tsquery('simple', 'cenoura'), 20) $$, :'mine_org'),
    '42501', null, 'anon cannot call it'
);
select pg_temp.act_as(:'their_owner');

-- Changing -------------------------------------------------------------------------------

select is(
    (select outcome from public.update_knowledge_document_v1((select id from added), 'Roubado')),
    'not_found',
    'another organization''s owner cannot change it'
);
select pg_temp.act_as(pg_temp.agent_of('mine'));
select is(
    (select outcome from public.update_knowledge_document_v1((select id from added), 'Novo')),
    'forbidden',
    'an agent may not change it'
);
select pg_temp.act_as(pg_temp.owner_of('mine'));
select is(
    (select outcome from public.update_knowledge_document_v1(
        (select id from added), content => 'Bolos: cenoura R$ 50', source_format => 'markdown')),
    'updated',
    'an owner changes its content'
);
select pg_temp.reset_role();
select is(
    (select status || '/' || revision || '/' || title || '/' || source_format
     from public.knowledge_documents where id = (select id from added)),
    'pending/2/Cardápio/markdown',
    'a change makes a new revision that waits for indexing (the title kept)'
);

select pg_temp.act_as_service_role();
select is(
    private.store_knowledge_passages_v1((select id from added), 1, 'test-embedder',
                                        '[{"position": 0, "content": "velho", "embedding": [1]}]'),
    'stale',
    'a job that read an older revision stores nothing'
);
select is(
    (select string_agg(content, ',') from public.knowledge_passages
     where document_id = (select id from added)),
    'Cenoura: R$ 48,Fubá: R$ 40',
    'and the passages stay as they were until the new revision is indexed'
);
select is(
    private.fail_knowledge_document_v1((select id from added), 2, 'O arquivo não tem texto.'),
    'failed',
    'a job that gives up marks the document failed'
);
select is(
    (select status || '/' || error || '/' || chunk_count || '/'
            || (select count(*) from public.knowledge_passages where document_id = d.id)
     from public.knowledge_documents as d where id = (select id from added)),
    'failed/O arquivo não tem texto./0/0',
    'a failed document says why and has no passages'
);

-- Re-indexing after a change of embedder --------------------------------------------------

select is(private.reindex_knowledge_v1('another-embedder'), 1,
          're-indexing queues the documents another embedder (or a failure) left');

-- Removing -------------------------------------------------------------------------------

select pg_temp.act_as(pg_temp.agent_of('mine'));
select is(
    (select outcome from public.remove_knowledge_document_v1((select id from added))),
    'forbidden',
    'an agent may not remove it'
);
select pg_temp.act_as(pg_temp.owner_of('mine'));
select is(
    (select outcome from public.remove_knowledge_document_v1((select id from added))),
    'removed',
    'an owner removes it'
);
select pg_temp.reset_role();
select is(
    (select count(*) from public.knowledge_documents where id = (select id from added))
        + (select count(*) from public.knowledge_passages where document_id = (select id from added)),
    0::bigint,
    'the document and its passages are gone'
);

select * from finish();
rollback;
