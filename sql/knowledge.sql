-- The knowledge base (atende.knowledge): documents the team manages (as the caller: the
-- functions check roles, row-level security decides what is read), the indexing job's
-- steps (service role), and the hybrid search (as the caller, or the platform for the
-- reply job). The rules are in supabase/migrations/20261207001200_knowledge.sql.

-- name: add_document
select outcome, id
from public.add_knowledge_document_v1(
    organization_id => %(organization_id)s,
    title => %(title)s,
    content => %(content)s,
    source_format => %(source_format)s,
    file_name => %(file_name)s
);

-- name: update_document
select outcome, id
from public.update_knowledge_document_v1(
    document_id => %(document_id)s,
    title => %(title)s,
    content => %(content)s,
    source_format => %(source_format)s,
    file_name => %(file_name)s
);

-- name: remove_document
select outcome, id from public.remove_knowledge_document_v1(document_id => %(document_id)s);

-- name: document_by_id
select id, organization_id, title, source_format, file_name, status, error, chunk_count,
       embedder, created_at, updated_at
from public.knowledge_documents
where id = %(document_id)s;

-- name: documents_page
-- One page of an organization's documents, newest first
-- (knowledge_documents_organization_created_idx).
select id, organization_id, title, source_format, file_name, status, error, chunk_count,
       embedder, created_at, updated_at
from public.knowledge_documents
where organization_id = %(organization_id)s
  and (created_at, id) < (%(before_at)s, %(before_id)s)
order by created_at desc, id desc
limit %(limit)s;

-- name: count_documents
select count(*) as total from public.knowledge_documents where organization_id = %(organization_id)s;

-- name: document_for_indexing
-- What the indexing job reads: the newest revision of the document.
select id, organization_id, title, content, revision, status
from public.knowledge_documents
where id = %(document_id)s;

-- name: store_passages
select private.store_knowledge_passages_v1(
    document_id => %(document_id)s,
    revision => %(revision)s,
    embedder => %(embedder)s,
    passages => %(passages)s::jsonb
) as outcome;

-- name: fail_document
select private.fail_knowledge_document_v1(
    document_id => %(document_id)s,
    revision => %(revision)s,
    error => %(error)s
) as outcome;

-- name: reindex
select private.reindex_knowledge_v1(
    embedder => %(embedder)s,
    include_current => %(include_current)s
) as queued;

-- name: search_passages
-- Hybrid search in one organization: full-text (Portuguese, accents folded, any of the
-- query's words) and nearest neighbours by cosine distance among the passages the
-- current embedder made, each ranked, then fused by reciprocal rank fusion (1/(60 +
-- rank) summed). A passage is kept when it matched some word of the query or is at
-- least min_similarity close. The vector leg's `vector(768)` and `dimensions = 768` are
-- replaced by the embedder's size (atende.knowledge.search); with one of the sizes the
-- HNSW indexes cover, the planner may use them. Each leg carries the columns the answer
-- needs: joining the fused rows back to the table made the planner scan all of it (every
-- tenant's passages) at 100,000 passages. The operator is schema-qualified, so the
-- statement does not depend on the search path.
with terms as (
    select string_agg(quote_literal(lexeme), ' | ')::tsquery as query
    from unnest(tsvector_to_array(
        to_tsvector('private.knowledge_portuguese'::regconfig, %(text)s)
    )) as lexeme
),
full_text as (
    -- ts_rank without length normalisation: a passage that matches more of the
    -- customer's words ranks first, however long (normalising by length cost the full-text
    -- leg 0.08 of MRR on bench/knowledge_set).
    select p.id, p.document_id, p.heading, p.content,
           row_number() over (
               order by ts_rank(p.search_vector, terms.query) desc, octet_length(p.content),
                        p.position, p.id
           ) as rank
    from public.knowledge_passages as p, terms
    where %(use_full_text)s
      and p.organization_id = %(organization_id)s
      and p.search_vector @@ terms.query
    order by rank
    limit %(candidates)s
),
nearest as (
    select p.id, p.document_id, p.heading, p.content,
           p.embedding::extensions.vector(768) operator(extensions.<=>)
               %(embedding)s::extensions.vector(768) as distance
    from public.knowledge_passages as p
    where %(use_vector)s
      and p.organization_id = %(organization_id)s
      and p.embedder = %(embedder)s
      and p.dimensions = 768
    order by p.embedding::extensions.vector(768) operator(extensions.<=>)
             %(embedding)s::extensions.vector(768)
    limit %(candidates)s
),
nearest_ranked as (
    select *, row_number() over (order by distance, id) as rank from nearest
),
fused as (
    select coalesce(f.id, n.id) as id,
           coalesce(f.document_id, n.document_id) as document_id,
           coalesce(f.heading, n.heading) as heading,
           coalesce(f.content, n.content) as content,
           f.rank as full_text_rank,
           n.rank as vector_rank,
           1 - n.distance as similarity,
           coalesce(1.0 / (60 + f.rank), 0) + coalesce(1.0 / (60 + n.rank), 0) as score
    from full_text as f
    full join nearest_ranked as n on n.id = f.id
)
select fused.id, fused.document_id,
       (select d.title from public.knowledge_documents as d where d.id = fused.document_id)
           as title,
       fused.heading, fused.content, fused.score::float8 as score, fused.full_text_rank,
       fused.vector_rank, fused.similarity::float8 as similarity
from fused
where fused.full_text_rank is not null or fused.similarity >= %(min_similarity)s
-- Equal scores are common (rank 3 in one list only, against rank 3 in the other only):
-- the closer passage goes first, so a search answers the same way every time.
order by fused.score desc, fused.similarity desc nulls last, fused.full_text_rank, fused.id
limit %(limit)s;

-- name: knowledge_sources_of_messages
-- The passages each AI message's model request carried (ai_runs.knowledge_sources).
select message_id, knowledge_sources
from public.ai_runs
where message_id = any(%(message_ids)s) and knowledge_sources is not null;
