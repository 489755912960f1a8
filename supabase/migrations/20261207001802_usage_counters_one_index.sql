-- Usage counters with one index fewer (20261207001800_retention_and_erasure): every
-- message writes a counter row, so each index on public.usage_counters is paid on the
-- ingest path. The compaction found recent hours through usage_counters_hour_idx; it now
-- walks each organization's recent hours on usage_counters_organization_hour_idx (what
-- usage reads anyway), one index probe per organization an hour.

drop index public.usage_counters_hour_idx;

create or replace function private.compact_usage_counters_v1(since timestamptz, batch_size integer)
    returns integer
    language sql
    volatile
    security definer
    set search_path = pg_catalog
as $$
    -- Folds up to batch_size (organization, hour, conversation) groups of several rows
    -- into one. The rows it sums are exactly those it deleted (RETURNING), so a row
    -- written meanwhile, or a second compaction side by side, loses or doubles nothing.
    with groups as (
        select u.organization_id, u.hour, u.conversation_id
        from public.organizations as o
        cross join lateral (
            select u.organization_id, u.hour, u.conversation_id
            from public.usage_counters as u
            where u.organization_id = o.id
              and u.hour >= since and u.hour < now() - interval '1 hour'
        ) as u
        group by 1, 2, 3
        having count(*) > 1
        limit batch_size
    ), folded as (
        delete from public.usage_counters as u
        using groups as g
        where u.organization_id = g.organization_id and u.hour = g.hour
          and u.conversation_id is not distinct from g.conversation_id
        returning u.*
    ), written as (
        insert into public.usage_counters (organization_id, hour, conversation_id,
                                           messages_in, messages_out, ai_replies, fallbacks,
                                           tokens_in, tokens_out)
        select f.organization_id, f.hour, f.conversation_id, sum(f.messages_in),
               sum(f.messages_out), sum(f.ai_replies), sum(f.fallbacks), sum(f.tokens_in),
               sum(f.tokens_out)
        from folded as f
        group by 1, 2, 3
        returning 1
    )
    select count(*)::integer from written
$$;
