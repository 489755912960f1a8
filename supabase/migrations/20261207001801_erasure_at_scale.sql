-- Erasure at scale (20261207001800_retention_and_erasure): what a contact with 10,000
-- messages, or a busy job queue, costs it.
--
-- * private.delete_jobs_naming: the jobs whose arguments name one of the ids, each
--   argument looked up among the ids' keys in one object (one pass over the queue), not
--   compared with every id (`= any(ids)`: jobs x ids comparisons; 10,000 jobs and the
--   ids of 10,000 messages took about 200 ms).
-- * broadcast_recipients.message_id and .conversation_id reference messages and
--   conversations `on delete set null`: without an index each deleted message (erasure,
--   retention) or conversation looked through every recipient of every broadcast.

create or replace function private.delete_jobs_naming(ids text[])
    returns integer
    language plpgsql
    volatile
    security definer
    -- Procrastinate's own triggers on its jobs name its tables without a schema.
    set search_path = procrastinate, pg_catalog
as $$
declare
    deleted integer;
    -- The ids as the keys of one object: `?` finds a key by binary search, so each
    -- argument costs a lookup, whatever plan the statement gets.
    wanted jsonb := (select coalesce(jsonb_object_agg(id, true), '{}') from unnest(ids) as id);
begin
    delete from procrastinate.procrastinate_jobs as j
    where j.status <> 'doing'
      and exists (select from jsonb_each_text(j.args) as a where wanted ? a.value);
    get diagnostics deleted = row_count;
    return deleted;
end;
$$;

create index broadcast_recipients_message_id_idx
    on public.broadcast_recipients (message_id) where message_id is not null;
create index broadcast_recipients_conversation_id_idx
    on public.broadcast_recipients (conversation_id) where conversation_id is not null;
