-- Knowledge base: a business's documents, split into passages the assistant answers from.
--
-- A document (public.knowledge_documents) is what the team handed in: its title and its
-- text (Markdown or plain; a PDF's or HTML page's text is extracted before it is stored).
-- The indexing job (knowledge:index_document, deferred in the transaction that stores or
-- changes the document) splits it into passages, embeds them, and stores them all at once
-- with private.store_knowledge_passages_v1: a document is never half-indexed, and a job
-- that finds the document changed meanwhile stores nothing (the change deferred its own
-- job). Passages (public.knowledge_passages) carry a full-text vector (Portuguese,
-- accents folded) and an embedding (pgvector), searched together by the queries in
-- sql/knowledge.sql.
--
-- Clients read both tables as members (row-level security); every write goes through the
-- functions below: the public ones check the caller's role (owners and admins), the
-- private ones are the platform's (the indexing job, the re-index command).

-- Extensions -------------------------------------------------------------------------------
--
-- pgvector and unaccent live in the `extensions` schema, as on Supabase (which ships
-- both; `postgres` may create them there). On plain Postgres the compat migration made
-- that schema; pgvector must be installed in the server (scripts/ensure-pgvector.sh does
-- it for the embedded cluster). An extension already created elsewhere is not moved: the
-- migration says so instead, since other code may rely on where it is.

do $$
declare
    wanted text;
    found_in text;
begin
    foreach wanted in array array['vector', 'unaccent'] loop
        select e.extnamespace::regnamespace::text into found_in
        from pg_extension as e where e.extname = wanted;
        if found_in is null then
            execute format('create extension %I with schema extensions', wanted);
        elsif found_in <> 'extensions' then
            raise exception 'the % extension is installed in schema %, Atende expects it in "extensions"',
                wanted, found_in
                using hint = format('alter extension %I set schema extensions', wanted);
        end if;
    end loop;
end
$$;

-- Portuguese full-text search with accents folded: "promoção", "promocao" and
-- "promoções" meet at one lexeme, as customers write them with or without accents.
create text search configuration private.knowledge_portuguese (copy = pg_catalog.portuguese);
alter text search configuration private.knowledge_portuguese
    alter mapping for hword, hword_part, word with extensions.unaccent, pg_catalog.portuguese_stem;
comment on text search configuration private.knowledge_portuguese is
    'Portuguese stemming with accents folded (unaccent first): the knowledge base''s full-text search.';

-- Documents --------------------------------------------------------------------------------

create table public.knowledge_documents (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    title text not null,
    -- The document's text as indexed: Markdown or plain text as given, or the text
    -- extracted from a PDF or an HTML page.
    content text not null,
    -- What the team handed in: typed text, or an uploaded file of this kind.
    source_format text not null default 'text',
    file_name text,
    status text not null default 'pending',
    -- Why indexing failed, in words for the business owner (pt-BR); null otherwise.
    error text,
    -- Passages stored for the current revision (0 while pending or failed).
    chunk_count integer not null default 0,
    -- Which embedder produced the passages' vectors (for re-indexing after a change).
    embedder text,
    -- Bumped by every change: the indexing job stores passages only for the revision it
    -- read, so a change made while it ran is never overwritten by older passages.
    revision integer not null default 1,
    created_by uuid references auth.users (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    indexed_at timestamptz,
    constraint knowledge_documents_title_length
        check (char_length(btrim(title)) between 1 and 200),
    constraint knowledge_documents_content_not_blank check (btrim(content) <> ''),
    -- 2 MB of text: about 1,000 pages. Python checks the limits first (and documents them).
    constraint knowledge_documents_content_length check (octet_length(content) <= 2000000),
    constraint knowledge_documents_source_format
        check (source_format in ('text', 'markdown', 'pdf', 'html')),
    constraint knowledge_documents_status check (status in ('pending', 'ready', 'failed')),
    constraint knowledge_documents_error_when_failed check ((status = 'failed') = (error is not null)),
    constraint knowledge_documents_chunk_count_not_negative check (chunk_count >= 0)
);

comment on table public.knowledge_documents is
    'A business''s documents the assistant answers from; indexed into knowledge_passages by a job.';

create index knowledge_documents_organization_created_idx
    on public.knowledge_documents (organization_id, created_at desc, id desc);
create index knowledge_documents_created_by_idx
    on public.knowledge_documents (created_by) where created_by is not null;

create trigger tg_knowledge_documents__set_updated_at
    before update on public.knowledge_documents
    for each row execute function private.tg__set_updated_at();

alter table public.knowledge_documents enable row level security;

create policy "Members can read their organizations' knowledge documents"
    on public.knowledge_documents for select to authenticated
    using (organization_id in (select private.organizations_of_caller()));

revoke all on table public.knowledge_documents from anon, authenticated;
grant select on table public.knowledge_documents to authenticated;

-- Passages ---------------------------------------------------------------------------------

create table public.knowledge_passages (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    document_id uuid not null references public.knowledge_documents (id) on delete cascade,
    -- Order within the document, from 0.
    position integer not null,
    -- The headings above the passage ("Cardápio > Bolos"), kept as its context.
    heading text not null default '',
    content text not null,
    -- Headings weigh more than body text: a question about "entrega" finds the section
    -- titled so first.
    search_vector tsvector generated always as (
        setweight(to_tsvector('private.knowledge_portuguese'::regconfig, heading), 'A')
        || to_tsvector('private.knowledge_portuguese'::regconfig, content)
    ) stored,
    embedder text not null,
    dimensions integer not null,
    -- Any dimension: each embedder has its own; the HNSW indexes below cover the built-in
    -- embedder's (768) and OpenAI's text-embedding-3-small / ada-002 (1536).
    embedding extensions.vector not null,
    created_at timestamptz not null default now(),
    constraint knowledge_passages_document_position_key unique (document_id, position),
    constraint knowledge_passages_content_not_blank check (btrim(content) <> ''),
    constraint knowledge_passages_dimensions check (
        dimensions between 1 and 16000 and extensions.vector_dims(embedding) = dimensions
    )
);

comment on table public.knowledge_passages is
    'Passages of knowledge documents with their full-text and embedding vectors, searched together.';

create index knowledge_passages_organization_idx
    on public.knowledge_passages (organization_id, embedder);
create index knowledge_passages_search_idx
    on public.knowledge_passages using gin (search_vector);
-- Approximate nearest neighbours, per embedding size (an HNSW index needs one size).
-- Within one organization the planner may prefer the exact scan of its passages through
-- knowledge_passages_organization_idx, which is what a small knowledge base wants.
create index knowledge_passages_embedding_768_idx
    on public.knowledge_passages
    using hnsw ((embedding::extensions.vector(768)) extensions.vector_cosine_ops)
    where dimensions = 768;
create index knowledge_passages_embedding_1536_idx
    on public.knowledge_passages
    using hnsw ((embedding::extensions.vector(1536)) extensions.vector_cosine_ops)
    where dimensions = 1536;

alter table public.knowledge_passages enable row level security;

create policy "Members can read their organizations' knowledge passages"
    on public.knowledge_passages for select to authenticated
    using (organization_id in (select private.organizations_of_caller()));

revoke all on table public.knowledge_passages from anon, authenticated;
grant select on table public.knowledge_passages to authenticated;

-- What the AI was given: each run records the passages its model request carried (a
-- copy, so the team still sees them after the document changes).
alter table public.ai_runs add column knowledge_sources jsonb;
comment on column public.ai_runs.knowledge_sources is
    'The knowledge passages the model request carried: [{passage_id, document_id, title, text, score}].';

-- The agent's knowledge settings -------------------------------------------------------------

alter table public.agents
    add column knowledge_enabled boolean not null default true,
    add column knowledge_passages integer not null default 4,
    add column answer_only_from_knowledge boolean not null default false,
    add constraint agents_knowledge_passages_range check (knowledge_passages between 1 and 10);

comment on column public.agents.knowledge_enabled is
    'Whether the reply job retrieves knowledge passages for the model request.';
comment on column public.agents.knowledge_passages is
    'How many passages at most go into the model request (1 to 10).';
comment on column public.agents.answer_only_from_knowledge is
    'When no passage is relevant, say the team will check and hand the conversation over.';

grant update (knowledge_enabled, knowledge_passages, answer_only_from_knowledge)
    on table public.agents to authenticated;

-- Jobs -------------------------------------------------------------------------------------

create function private.defer_knowledge_indexing(document_id uuid)
    returns bigint
    language sql
    volatile
    security definer
    set search_path = pg_catalog
as $$
    -- One job waits per document (it reads the newest revision when it runs), and two
    -- never run at once.
    select private.defer_job(
        'knowledge:index_document',
        jsonb_build_object('document_id', document_id),
        'knowledge',
        lock => 'knowledge_document:' || document_id,
        queueing_lock => 'knowledge_document:' || document_id
    )
$$;
comment on function private.defer_knowledge_indexing(uuid) is
    'Defers the indexing job of a document (one waiting per document).';
revoke all on function private.defer_knowledge_indexing(uuid) from public;
grant execute on function private.defer_knowledge_indexing(uuid) to service_role;

-- What the team calls ------------------------------------------------------------------------
--
-- Each answers an outcome: 'not_found' (no such organization or document among the
-- caller's), 'forbidden' (a member who is neither owner nor admin), or what it did. The
-- text was checked in Python first; the table's constraints are the last word.

create function public.add_knowledge_document_v1(
    organization_id uuid,
    title text,
    content text,
    source_format text default 'text',
    file_name text default null
)
    returns table (outcome text, id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    caller_role public.membership_role := private.role_in(organization_id, auth.uid());
    new_id uuid;
begin
    if caller_role is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;
    if caller_role not in ('owner', 'admin') then
        return query select 'forbidden'::text, null::uuid;
        return;
    end if;
    insert into public.knowledge_documents as d
        (organization_id, title, content, source_format, file_name, created_by)
    values (add_knowledge_document_v1.organization_id, btrim(title), content,
            source_format, file_name, auth.uid())
    returning d.id into new_id;
    perform private.defer_knowledge_indexing(new_id);
    return query select 'added'::text, new_id;
end;
$$;
comment on function public.add_knowledge_document_v1(uuid, text, text, text, text) is
    'Stores a knowledge document (owners and admins) and defers its indexing in the same transaction.';

create function public.update_knowledge_document_v1(
    document_id uuid,
    title text default null,
    content text default null,
    source_format text default null,
    file_name text default null
)
    returns table (outcome text, id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    the_document public.knowledge_documents;
    caller_role public.membership_role;
begin
    select * into the_document from public.knowledge_documents as d
    where d.id = document_id
    for update;
    caller_role := private.role_in(the_document.organization_id, auth.uid());
    if the_document.id is null or caller_role is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;
    if caller_role not in ('owner', 'admin') then
        return query select 'forbidden'::text, null::uuid;
        return;
    end if;
    -- Any change re-indexes: the title is part of every passage's context.
    update public.knowledge_documents as d
    set title = coalesce(btrim(title), d.title),
        content = coalesce(content, d.content),
        source_format = case when content is null then d.source_format
                             else coalesce(source_format, 'text') end,
        file_name = case when content is null then d.file_name else file_name end,
        status = 'pending',
        error = null,
        revision = d.revision + 1
    where d.id = document_id;
    perform private.defer_knowledge_indexing(document_id);
    return query select 'updated'::text, document_id;
end;
$$;
comment on function public.update_knowledge_document_v1(uuid, text, text, text, text) is
    'Changes a knowledge document''s title or content (owners and admins) and re-indexes it.';

create function public.remove_knowledge_document_v1(document_id uuid)
    returns table (outcome text, id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    organization uuid;
    caller_role public.membership_role;
begin
    select d.organization_id into organization from public.knowledge_documents as d
    where d.id = document_id;
    caller_role := private.role_in(organization, auth.uid());
    if organization is null or caller_role is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;
    if caller_role not in ('owner', 'admin') then
        return query select 'forbidden'::text, null::uuid;
        return;
    end if;
    -- Its passages go with it (on delete cascade); a waiting job finds nothing to do.
    delete from public.knowledge_documents as d where d.id = document_id;
    return query select 'removed'::text, document_id;
end;
$$;
comment on function public.remove_knowledge_document_v1(uuid) is
    'Deletes a knowledge document and its passages (owners and admins).';

revoke all on function public.add_knowledge_document_v1(uuid, text, text, text, text) from public;
revoke all on function public.update_knowledge_document_v1(uuid, text, text, text, text) from public;
revoke all on function public.remove_knowledge_document_v1(uuid) from public;
grant execute on function public.add_knowledge_document_v1(uuid, text, text, text, text)
    to authenticated, service_role;
grant execute on function public.update_knowledge_document_v1(uuid, text, text, text, text)
    to authenticated, service_role;
grant execute on function public.remove_knowledge_document_v1(uuid)
    to authenticated, service_role;

-- What the indexing job calls (service role) -------------------------------------------------

create function private.store_knowledge_passages_v1(
    document_id uuid,
    revision integer,
    embedder text,
    passages jsonb
)
    returns text
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    the_document public.knowledge_documents;
    stored integer;
begin
    select * into the_document from public.knowledge_documents as d
    where d.id = document_id
    for update;
    if not found then
        return 'gone';
    end if;
    if the_document.revision <> revision then
        return 'stale';
    end if;
    -- The old passages and the new in one transaction: searches see one or the other.
    delete from public.knowledge_passages as p where p.document_id = document_id;
    insert into public.knowledge_passages
        (organization_id, document_id, position, heading, content, embedder, dimensions,
         embedding)
    select the_document.organization_id, document_id, (p ->> 'position')::integer,
           coalesce(p ->> 'heading', ''), p ->> 'content', embedder,
           jsonb_array_length(p -> 'embedding'), (p ->> 'embedding')::extensions.vector
    from jsonb_array_elements(passages) as p;
    get diagnostics stored = row_count;
    update public.knowledge_documents as d
    set status = 'ready', error = null, chunk_count = stored, embedder = embedder,
        indexed_at = now()
    where d.id = document_id;
    return 'stored';
end;
$$;
comment on function private.store_knowledge_passages_v1(uuid, integer, text, jsonb) is
    'Replaces a document''s passages and marks it ready, unless it changed since the job read it (stale).';

create function private.fail_knowledge_document_v1(document_id uuid, revision integer, error text)
    returns text
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
begin
    update public.knowledge_documents as d
    set status = 'failed', error = left(btrim(error), 500), chunk_count = 0
    where d.id = document_id and d.revision = revision;
    if not found then
        return 'stale';
    end if;
    delete from public.knowledge_passages as p where p.document_id = document_id;
    return 'failed';
end;
$$;
comment on function private.fail_knowledge_document_v1(uuid, integer, text) is
    'Marks a document failed (its passages removed), unless it changed since the job read it.';

create function private.reindex_knowledge_v1(embedder text, include_current boolean default false)
    returns integer
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    queued integer := 0;
    the_id uuid;
begin
    for the_id in
        update public.knowledge_documents as d
        set status = 'pending', error = null, revision = d.revision + 1
        where include_current or d.embedder is distinct from embedder or d.status = 'failed'
        returning d.id
    loop
        perform private.defer_knowledge_indexing(the_id);
        queued := queued + 1;
    end loop;
    return queued;
end;
$$;
comment on function private.reindex_knowledge_v1(text, boolean) is
    'Re-indexes documents whose passages another embedder made (or failed ones; all with include_current).';

revoke all on function private.store_knowledge_passages_v1(uuid, integer, text, jsonb) from public;
revoke all on function private.fail_knowledge_document_v1(uuid, integer, text) from public;
revoke all on function private.reindex_knowledge_v1(text, boolean) from public;
grant execute on function private.store_knowledge_passages_v1(uuid, integer, text, jsonb) to service_role;
grant execute on function private.fail_knowledge_document_v1(uuid, integer, text) to service_role;
grant execute on function private.reindex_knowledge_v1(text, boolean) to service_role;

-- The reply job ------------------------------------------------------------------------------
--
-- start_ai_reply_v1's answer with what knowledge retrieval needs: the organization and
-- the agent's knowledge settings (knowledge_enabled is false when the organization has
-- no passages at all, so an agent without documents costs no search).

create function private.start_ai_reply_v2(conversation_id uuid)
    returns table (
        outcome text, run_id uuid, model text, system_prompt text,
        temperature double precision, history_messages integer, history_tokens integer,
        consecutive_retries integer, answered_through timestamptz, history jsonb,
        organization_id uuid, knowledge_enabled boolean, knowledge_passages integer,
        answer_only_from_knowledge boolean
    )
    language sql
    volatile
    security definer
    set search_path = pg_catalog
as $$
    select s.outcome, s.run_id, s.model, s.system_prompt, s.temperature, s.history_messages,
           s.history_tokens, s.consecutive_retries, s.answered_through, s.history,
           a.organization_id,
           a.knowledge_enabled and exists (
               select from public.knowledge_passages as p
               where p.organization_id = a.organization_id
           ),
           a.knowledge_passages, a.answer_only_from_knowledge
    from private.start_ai_reply_v1(start_ai_reply_v2.conversation_id) as s
    left join public.conversations as c on c.id = start_ai_reply_v2.conversation_id
    left join public.agents as a on a.organization_id = c.organization_id
$$;
comment on function private.start_ai_reply_v2(uuid) is
    'start_ai_reply_v1 with the organization and the agent''s knowledge settings.';

create function private.record_ai_reply_v2(
    conversation_id uuid,
    body text,
    answered_through timestamptz,
    model text,
    prompt_tokens integer default 0,
    completion_tokens integer default 0,
    latency_ms integer default 0,
    knowledge_sources jsonb default null
)
    returns table (run_id uuid, outcome text, message_id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    recorded record;
begin
    select * into recorded from private.record_ai_reply_v1(
        conversation_id, body, answered_through, model, prompt_tokens, completion_tokens,
        latency_ms);
    if recorded.run_id is null then
        return;
    end if;
    if knowledge_sources is not null then
        update public.ai_runs as r set knowledge_sources = knowledge_sources
        where r.id = recorded.run_id;
    end if;
    return query select recorded.run_id, recorded.outcome, recorded.message_id;
end;
$$;
comment on function private.record_ai_reply_v2(uuid, text, timestamptz, text, integer, integer, integer, jsonb) is
    'record_ai_reply_v1, keeping the knowledge passages the model was given on the run.';

create function private.record_ai_handoff_v2(
    conversation_id uuid,
    reason text,
    model_text text,
    answered_through timestamptz,
    model text,
    prompt_tokens integer default 0,
    completion_tokens integer default 0,
    latency_ms integer default 0,
    knowledge_sources jsonb default null
)
    returns table (run_id uuid, outcome text, message_id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    recorded record;
begin
    select * into recorded from private.record_ai_handoff_v1(
        conversation_id, reason, model_text, answered_through, model, prompt_tokens,
        completion_tokens, latency_ms);
    if recorded.run_id is null then
        return;
    end if;
    if knowledge_sources is not null then
        update public.ai_runs as r set knowledge_sources = knowledge_sources
        where r.id = recorded.run_id;
    end if;
    return query select recorded.run_id, recorded.outcome, recorded.message_id;
end;
$$;
comment on function private.record_ai_handoff_v2(uuid, text, text, timestamptz, text, integer, integer, integer, jsonb) is
    'record_ai_handoff_v1, keeping the knowledge passages the model was given on the run.';

revoke all on function private.start_ai_reply_v2(uuid) from public;
revoke all on function private.record_ai_reply_v2(uuid, text, timestamptz, text, integer, integer, integer, jsonb) from public;
revoke all on function private.record_ai_handoff_v2(uuid, text, text, timestamptz, text, integer, integer, integer, jsonb) from public;
grant execute on function private.start_ai_reply_v2(uuid) to service_role;
grant execute on function private.record_ai_reply_v2(uuid, text, timestamptz, text, integer, integer, integer, jsonb) to service_role;
grant execute on function private.record_ai_handoff_v2(uuid, text, text, timestamptz, text, integer, integer, integer, jsonb) to service_role;
