-- The reply job's first step in one call: what the model needs, or why the job stops.
--
-- The job used to read a conversation in a transaction of four round trips (BEGIN and
-- the caller's settings, the state query, the history query, COMMIT), and the state
-- query evaluated every rule whatever the answer of the first. This function is called
-- as one statement (atende.db.session.Database.fetch_one: one round trip), asks the
-- questions in the order the job acts on them, and stops at the first that ends it:
--
--   nothing   no customer message waits for an answer (or no such conversation)
--   skipped   one waits, but the AI may not answer now: the run is recorded as
--             'skipped' with the reason (private.record_ai_skip_v1), run_id returned
--   ready     the agent's prompt settings, the transient failures in a row so far,
--             and the history window (oldest first, as JSON), with answered_through:
--             the newest customer message in that window (or, when the window holds
--             none, the newest at all), which is what the reply will have answered.
--
-- The rules themselves stay where they are (private.ai_reply_pending,
-- private.ai_reply_blocker, private.consecutive_ai_retries).

create function private.start_ai_reply_v1(conversation_id uuid)
    returns table (
        outcome text,
        run_id uuid,
        model text,
        system_prompt text,
        temperature double precision,
        history_messages integer,
        history_tokens integer,
        consecutive_retries integer,
        answered_through timestamptz,
        history jsonb
    )
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    the_agent public.agents;
    blocker text;
    window_history jsonb;
    newest_in_window timestamptz;
begin
    select a.* into the_agent
    from public.conversations as c
    join public.agents as a on a.organization_id = c.organization_id
    where c.id = conversation_id;
    if not found or not private.ai_reply_pending(conversation_id) then
        return query select 'nothing'::text, null::uuid, null::text, null::text,
            null::double precision, null::integer, null::integer, null::integer,
            null::timestamptz, null::jsonb;
        return;
    end if;

    blocker := private.ai_reply_blocker(conversation_id);
    if blocker is not null then
        return query select 'skipped'::text,
            private.record_ai_skip_v1(conversation_id, the_agent.model, blocker),
            the_agent.model, null::text, null::double precision, null::integer,
            null::integer, null::integer, null::timestamptz, null::jsonb;
        return;
    end if;

    select jsonb_agg(jsonb_build_object('direction', w.direction, 'author', w.author,
                                        'body', w.body, 'media', w.media,
                                        'status', w.status)
                     order by w.created_at, w.id),
           max(w.created_at) filter (where w.direction = 'inbound')
    into window_history, newest_in_window
    from (
        select m.id, m.direction, m.author, m.body, m.media, m.status, m.created_at
        from public.messages as m
        where m.conversation_id = conversation_id
        order by m.created_at desc, m.id desc
        limit the_agent.history_messages
    ) as w;

    return query select 'ready'::text, null::uuid, the_agent.model, the_agent.system_prompt,
        the_agent.temperature::double precision, the_agent.history_messages,
        the_agent.history_tokens, private.consecutive_ai_retries(conversation_id),
        coalesce(newest_in_window, (
            select max(m.created_at) from public.messages as m
            where m.conversation_id = conversation_id and m.direction = 'inbound')),
        coalesce(window_history, '[]'::jsonb);
end;
$$;

comment on function private.start_ai_reply_v1 is
    'The reply job''s first step: nothing to answer, a skip (recorded), or the prompt and history to answer with.';

revoke all on function private.start_ai_reply_v1 from public;
grant execute on function private.start_ai_reply_v1 to service_role;
