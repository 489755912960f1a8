-- Full-text search of one organization's passages through one index.
--
-- A search always names its organization. With the full-text index on search_vector
-- alone, Postgres intersected it with the organization's index: for a common word
-- ("bolo", "preço") the first scan walked every tenant's passages that hold it (about
-- 25,000 of 100,000 in bench/knowledge), 4-5 ms of a 6-8 ms search. A GIN index on
-- (organization_id, search_vector) (btree_gin gives GIN the uuid column) intersects
-- inside the index, driven by the organization's short list: 0.2 ms.
--
-- btree_gin is a trusted extension (any database owner may create it, `postgres` on
-- Supabase too) and, like the others, lives in `extensions`.

do $$
declare
    found_in text;
begin
    select e.extnamespace::regnamespace::text into found_in
    from pg_extension as e where e.extname = 'btree_gin';
    if found_in is null then
        create extension btree_gin with schema extensions;
    elsif found_in <> 'extensions' then
        raise exception 'the btree_gin extension is installed in schema %, Atende expects it in "extensions"',
            found_in
            using hint = 'alter extension btree_gin set schema extensions';
    end if;
end
$$;

create index knowledge_passages_organization_search_idx
    on public.knowledge_passages using gin (organization_id, search_vector);
drop index public.knowledge_passages_search_idx;
