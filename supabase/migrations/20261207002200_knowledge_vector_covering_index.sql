-- Knowledge search's vector leg reads an index, not the passages' rows.
--
-- A search compares the question with every passage of its organization (exact, within
-- the organization). With the 768-dimension embeddings kept in the row (3 KB, storage
-- MAIN: 20261207001210), one organization's passages filled about 550 scattered pages at
-- bench/knowledge's 100,000 passages (1,000 an organization): 430 MB of rows that no
-- longer fit in shared buffers, read again from the OS at every search, twice (once per
-- leg). Now:
--
-- * embedding_half, a generated half-precision copy (pgvector's halfvec, 2 bytes a
--   dimension: 1.5 KB at 768), sits in a covering btree index on (organization_id,
--   embedder, dimensions) with the passage's id: the vector leg is an index-only scan of
--   the organization's contiguous entries, and only the passages the search returns are
--   read. A half-precision distance ranks like the full one for these vectors (recall
--   measured by bench/knowledge). A btree entry holds at most 2,704 bytes: the copy, and
--   the index, cover sizes up to 1,024 dimensions; larger embeddings (OpenAI's 1,536) are
--   compared from the rows as before (or through their HNSW index).
-- * the full vector goes back out of line (EXTERNAL: TOAST, uncompressed, as floats do
--   not compress), and the copy too: a row is about 900 bytes again, so the full-text
--   leg, which reads the organization's rows (row-level security keeps a non-leakproof
--   `@@` out of the index condition), reads a fifth of the pages. Rows written before
--   this migration keep their layout until rewritten (reindexing a document rewrites
--   its passages).
-- * index-only scans skip a row's page only when the visibility map says every row on
--   it is visible: autovacuum visits the table after 2 % of it was inserted (not 20 %).
--
-- halfvec needs pgvector 0.7 (April 2024); Supabase and the vendored copy have newer.

do $$
begin
    if to_regtype('extensions.halfvec') is null then
        raise exception 'the knowledge base needs pgvector 0.7 or newer (the halfvec type), found %',
            (select extversion from pg_extension where extname = 'vector')
            using hint = 'install a newer pgvector, then: alter extension vector update';
    end if;
end
$$;

alter table public.knowledge_passages
    add column embedding_half extensions.halfvec generated always as (
        case when dimensions <= 1024 then embedding::extensions.halfvec end
    ) stored;

comment on column public.knowledge_passages.embedding_half is
    'The embedding in half precision (up to 1,024 dimensions), for the covering index the search scans.';

alter table public.knowledge_passages
    alter column embedding set storage external,
    alter column embedding_half set storage external;
alter table public.knowledge_passages
    reset (toast_tuple_target),
    set (autovacuum_vacuum_insert_scale_factor = 0.02);

create index knowledge_passages_organization_vectors_idx
    on public.knowledge_passages (organization_id, embedder, dimensions)
    include (id, embedding_half)
    where dimensions <= 1024;

-- The organization's index on (organization_id, embedder) stays: the full-text leg and
-- 1,536-dimension searches use it.
