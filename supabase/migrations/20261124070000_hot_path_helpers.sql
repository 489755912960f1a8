-- Cheaper helpers on the message pipeline's hot path (bench/e2e, issue 5). Same
-- signatures, same results; what changes is how Postgres runs them.
--
-- Measured on the benchmark's cluster (PG 15), per call inside a plpgsql caller:
--
--   private.message_status_may_advance   91 µs -> inlined (~0)
--   private.message_status_rank           8 µs -> inlined (~0)
--   private.ai_reply_pending            213 µs -> plpgsql, ~20 µs
--   private.consecutive_ai_retries      135 µs -> plpgsql, ~20 µs
--
-- Two causes:
--
-- 1. A `set search_path` clause makes a function uninlinable, and each call goes
--    through the GUC save/restore machinery. For the tiny, pure status helpers (a CASE
--    over their arguments, built-ins only) that is most of their cost, and
--    record_message_status_v1 calls them a dozen times per delivery callback. They are
--    not security definer, reference no table, and their callers are security definer
--    functions that set search_path = pg_catalog themselves: the clause protects
--    nothing. (private.window_end in 20261124050000_team_inbox.sql made the same choice
--    for the same reason.)
--
-- 2. A SQL function that cannot be inlined is parsed and planned again at every call;
--    a plpgsql function keeps its plans for the session. The reply job calls
--    ai_reply_pending and consecutive_ai_retries once per reply, and the rescue upkeep
--    once per candidate conversation; both become plpgsql with the same queries.

-- 1. Pure status helpers: inlinable ---------------------------------------------------

alter function private.message_status_rank(public.message_status) reset search_path;
alter function private.message_status_may_advance(public.message_status, public.message_status)
    reset search_path;
alter function private.twilio_message_status(text) reset search_path;
alter function private.subscription_intent(text, text) reset search_path;

-- An aggregate over the parts: never inlinable, so plpgsql keeps its plan.
create or replace function private.message_status_of_parts(parts jsonb, part_count integer)
    returns public.message_status
    language plpgsql
    immutable
as $$
begin
    return (
        select case
            when bool_or(p.status in ('failed', 'undelivered')) then
                (array_agg(p.status order by p.status = 'failed' desc)
                    filter (where p.status in ('failed', 'undelivered')))[1]
            when count(*) < greatest(part_count, 1) then 'sending'
            else (array_agg(p.status order by private.message_status_rank(p.status)))[1]
        end
        from jsonb_to_recordset(coalesce(parts, '[]')) as p (index integer, sid text,
                                                              status public.message_status)
    );
end;
$$;

-- 2. The reply job's questions: plpgsql, plans kept ------------------------------------

create or replace function private.ai_reply_pending(conversation_id uuid)
    returns boolean
    language plpgsql
    stable
    security definer
    set search_path = pg_catalog
as $$
begin
    return exists (
        select
        from public.messages as m
        join public.conversations as c on c.id = m.conversation_id
        where m.conversation_id = ai_reply_pending.conversation_id
          and m.direction = 'inbound'
          and m.created_at > coalesce(c.ai_answered_through, '-infinity')
          and m.created_at > coalesce(
              (select max(t.created_at) from public.messages as t
               where t.conversation_id = ai_reply_pending.conversation_id
                 and t.author = 'member'),
              '-infinity')
    );
end;
$$;

create or replace function private.consecutive_ai_retries(conversation_id uuid)
    returns integer
    language plpgsql
    stable
    security definer
    set search_path = pg_catalog
as $$
begin
    return (
        select count(*)::integer
        from public.ai_runs as r
        where r.conversation_id = consecutive_ai_retries.conversation_id
          and r.outcome = 'retrying'
          and r.created_at > coalesce(
              (select max(o.created_at) from public.ai_runs as o
               where o.conversation_id = consecutive_ai_retries.conversation_id
                 and o.outcome <> 'retrying'),
              '-infinity')
    );
end;
$$;
