-- Knowledge search's full-text leg, for members, through the full-text index.
--
-- Row-level security applies a table's policy before any condition whose operator is not
-- leakproof, and `@@` is not (marking it so takes a superuser, which a Supabase project
-- does not have). For a member the search's `search_vector @@ query` was therefore never
-- an index condition: the leg read every passage of the organization and tested each
-- (1,000 rows, ~1.5 ms of a 4.3 ms search at bench/knowledge's 100,000 passages), while
-- the platform's searches (service_role bypasses row-level security) went through
-- knowledge_passages_organization_search_idx.
--
-- This function runs the leg as its owner, after the check the table's policy makes
-- ("Members can read their organizations' knowledge passages":
-- private.organizations_of_caller, which also answers for API keys), or for the
-- platform. It returns ids and ranks only: the statement that calls it
-- (sql/knowledge.sql, search_passages) reads the passages it keeps as the caller, under
-- the policy. Another organization's id gives no rows, as the policy would.
--
-- The platform is recognised by the session's role (`set local role service_role`, as
-- Atende's API and PostgREST do), which a member cannot take: a security definer function
-- changes the user its body runs as, not the `role` setting.

create function private.knowledge_full_text_matches_v1(
    organization uuid, query tsquery, candidates integer
) returns table (id uuid, rank bigint)
    language plpgsql
    stable
    security definer
    set search_path = pg_catalog
as $$
begin
    if current_setting('role') <> 'service_role'
        and not exists (
            select from private.organizations_of_caller() as visible (organization_id)
            where visible.organization_id = organization
        )
    then
        return;
    end if;
    -- The ranking is search_passages' own (ts_rank without length normalisation, the
    -- shorter passage first on a tie); the statement fuses by these ranks.
    return query
    select p.id,
           row_number() over (
               order by ts_rank(p.search_vector, query) desc, octet_length(p.content),
                        p.position, p.id
           ) as rank
    from public.knowledge_passages as p
    where p.organization_id = organization
      and p.search_vector @@ query
    order by rank
    limit candidates;
end
$$;

comment on function private.knowledge_full_text_matches_v1(uuid, tsquery, integer) is
    'Knowledge search''s full-text leg: the organization''s passages matching query, ranked (ids and ranks, at most candidates), for its members and the platform only; run as owner so the full-text index serves members too.';

revoke all on function private.knowledge_full_text_matches_v1(uuid, tsquery, integer)
    from public;
grant execute on function private.knowledge_full_text_matches_v1(uuid, tsquery, integer)
    to authenticated, service_role;
