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
-- least min_similarity close. The vector leg compares the half-precision copies in
-- knowledge_passages_organization_vectors_idx (an index-only scan of the organization's
-- entries, 20261207002200); for sizes that index does not cover, atende.knowledge.search
-- rewrites it to compare the full vectors (`embedding::extensions.vector(N)`), with one of
-- the sizes the HNSW indexes cover the planner may use them. The legs rank ids; the few
-- passages kept are read at the end by primary key, their organization named so the
-- planner does not scan every tenant's passages. The operator is schema-qualified, so
-- the statement does not depend on the search path.
with terms as (
    select string_agg(quote_literal(lexeme), ' | ')::tsquery as query
    from unnest(tsvector_to_array(
        to_tsvector('private.knowledge_portuguese'::regconfig, %(text)s)
    )) as lexeme
),
full_text as (
    -- Through private.knowledge_full_text_matches_v1 (20261207002400): for members too,
    -- the full-text index serves the leg, which row-level security would keep from it.
    select f.id, f.rank
    from terms,
         private.knowledge_full_text_matches_v1(
             %(organization_id)s, terms.query, %(candidates)s
         ) as f
    where %(use_full_text)s
),
nearest as (
    select e.id,
           e.embedding_half::extensions.halfvec(768) operator(extensions.<=>)
               %(embedding)s::extensions.halfvec(768) as distance
    from public.knowledge_passages as e
    where %(use_vector)s
      and e.organization_id = %(organization_id)s
      and e.embedder = %(embedder)s
      and e.dimensions = 768
    order by distance
    limit %(candidates)s
),
nearest_ranked as (
    select id, distance, row_number() over (order by distance, id) as rank from nearest
),
fused as (
    select coalesce(f.id, n.id) as id,
           f.rank as full_text_rank,
           n.rank as vector_rank,
           1 - n.distance as similarity,
           coalesce(1.0 / (60 + f.rank), 0) + coalesce(1.0 / (60 + n.rank), 0) as score
    from full_text as f
    full join nearest_ranked as n on n.id = f.id
),
kept as (
    select * from fused
    where fused.full_text_rank is not null or fused.similarity >= %(min_similarity)s
    -- Equal scores are common (rank 3 in one list only, against rank 3 in the other
    -- only): the closer passage goes first, so a search answers the same way every time.
    order by fused.score desc, fused.similarity desc nulls last, fused.full_text_rank,
             fused.id
    limit %(limit)s
)
select kept.id, p.document_id,
       (select d.title from public.knowledge_documents as d where d.id = p.document_id)
           as title,
       p.heading, p.content, kept.score::float8 as score, kept.full_text_rank,
       kept.vector_rank, kept.similarity::float8 as similarity
from kept
join public.knowledge_passages as p
    on p.id = kept.id and p.organization_id = %(organization_id)s
order by kept.score desc, kept.similarity desc nulls last, kept.full_text_rank, kept.id;

-- name: knowledge_sources_of_messages
-- The passages each AI message's model request carried (ai_runs.knowledge_sources).
select message_id, knowledge_sources
from public.ai_runs
where message_id = any(%(message_ids)s) and knowledge_sources is not null;
