-- A reply job could miss its wake-up (20261207001600, 20261207001601): while the job read
-- a message's files as unsettled and deferred itself, the change that settled them
-- committed and looked for a waiting job before the job's deferral was committed, found
-- none, and the reply waited for its bound (ATENDE_MEDIA_WAIT_SECONDS) instead. The job's
-- check and the wake-up now take one transaction-scoped advisory lock per conversation:
-- whichever comes second sees what the first committed.

create or replace function private.start_ai_reply_v3(conversation_id uuid, media_wait_seconds double precision)
    returns table (
        outcome text, run_id uuid, model text, system_prompt text,
        temperature double precision, history_messages integer, history_tokens integer,
        consecutive_retries integer, answered_through timestamptz, history jsonb,
        organization_id uuid, knowledge_enabled boolean, knowledge_passages integer,
        answer_only_from_knowledge boolean, vision_enabled boolean
    )
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    the_agent public.agents;
    the_conversation public.conversations;
    blocker text;
    window_history jsonb;
    newest_in_window timestamptz;
    quiet_from timestamptz;
    unsettled_since timestamptz;
begin
    select * into the_conversation from public.conversations as c where c.id = conversation_id;
    select a.* into the_agent
    from public.agents as a where a.organization_id = the_conversation.organization_id;
    if the_conversation.id is null or the_agent.id is null
        or not private.ai_reply_pending(conversation_id) then
        return query select 'nothing'::text, null::uuid, null::text, null::text,
            null::double precision, null::integer, null::integer, null::integer,
            null::timestamptz, null::jsonb, null::uuid, null::boolean, null::integer,
            null::boolean, null::boolean;
        return;
    end if;

    -- The debounce, as in v1.
    quiet_from := the_conversation.last_inbound_at
        + make_interval(secs => the_agent.debounce_seconds);
    if quiet_from > now() then
        perform private.defer_reply_job(conversation_id, quiet_from, reschedule => true);
        return query select 'debounced'::text, null::uuid, null::text, null::text,
            null::double precision, null::integer, null::integer, null::integer,
            null::timestamptz, null::jsonb, null::uuid, null::boolean, null::integer,
            null::boolean, null::boolean;
        return;
    end if;

    blocker := private.ai_reply_blocker(conversation_id);
    if blocker is not null then
        return query select 'skipped'::text,
            private.record_ai_skip_v1(conversation_id, the_agent.model, blocker),
            the_agent.model, null::text, null::double precision, null::integer,
            null::integer, null::integer, null::timestamptz, null::jsonb, null::uuid,
            null::boolean, null::integer, null::boolean, null::boolean;
        return;
    end if;

    -- The files the answer needs: voice notes (their transcripts), and images for an
    -- agent that sees them. Bounded: a file that takes longer is answered without.
    -- Taken with the lock tg_messages__media_changed takes to wake a waiting job: a file
    -- settled while this runs is either seen below, or its change waits for this
    -- transaction and then finds (and wakes) the job it defers.
    perform pg_advisory_xact_lock(hashtextextended('atende.reply_media:' || conversation_id, 0));
    select min(m.created_at) into unsettled_since
    from public.messages as m
    where m.conversation_id = conversation_id
      and m.direction = 'inbound'
      and m.created_at > coalesce(the_conversation.ai_answered_through, '-infinity')
      and m.media <> '[]'::jsonb
      and exists (
          select from jsonb_array_elements(m.media) as i (item)
          where private.media_item_awaits_transcript(i.item)
             or (the_agent.vision_enabled
                 and jsonb_typeof(i.item) = 'object'
                 and coalesce(i.item ->> 'content_type', '') like 'image/%'
                 and coalesce(i.item ->> 'status', 'pending') = 'pending')
      );
    if unsettled_since is not null
        and unsettled_since + make_interval(secs => media_wait_seconds) > now() then
        perform private.defer_reply_job(
            conversation_id,
            unsettled_since + make_interval(secs => media_wait_seconds),
            reschedule => true
        );
        return query select 'waiting'::text, null::uuid, null::text, null::text,
            null::double precision, null::integer, null::integer, null::integer,
            null::timestamptz, null::jsonb, null::uuid, null::boolean, null::integer,
            null::boolean, null::boolean;
        return;
    end if;

    select jsonb_agg(jsonb_build_object('direction', w.direction, 'author', w.author,
                                        'body', w.body, 'media', w.media,
                                        'status', w.status,
                                        'location', private.message_location(w.metadata),
                                        'waiting', w.direction = 'inbound' and w.created_at
                                            > coalesce(the_conversation.ai_answered_through,
                                                       '-infinity'))
                     order by w.created_at, w.id),
           max(w.created_at) filter (where w.direction = 'inbound')
    into window_history, newest_in_window
    from (
        select m.id, m.direction, m.author, m.body, m.media, m.status, m.metadata,
               m.created_at
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
        coalesce(window_history, '[]'::jsonb),
        the_agent.organization_id,
        the_agent.knowledge_enabled and exists (
            select from public.knowledge_passages as p
            where p.organization_id = the_agent.organization_id
        ),
        the_agent.knowledge_passages, the_agent.answer_only_from_knowledge,
        the_agent.vision_enabled;
end;
$$;

create or replace function private.tg_messages__media_changed()
    returns trigger
    language plpgsql
    volatile
    security definer
    -- procrastinate first: its own triggers on the jobs table name its tables unqualified.
    set search_path = procrastinate, pg_catalog
as $$
declare
    woken record;
    payload text;
begin
    if exists (
        select from jsonb_array_elements(new.media) as i (item)
        where i.item ->> 'status' = 'stored' and private.media_item_awaits_transcript(i.item)
    ) then
        perform private.defer_job(
            task_name => 'ai:transcribe_audio',
            args => jsonb_build_object('message_id', new.id),
            queue_name => 'media',
            queueing_lock => 'transcribe:' || new.id
        );
    end if;

    -- See start_ai_reply_v3: the same lock, so a job deferred to wait for these files is
    -- committed (and found here) or sees them settled.
    perform pg_advisory_xact_lock(
        hashtextextended('atende.reply_media:' || new.conversation_id, 0)
    );
    for woken in
        update procrastinate.procrastinate_jobs as j
        set scheduled_at = quiet.since
        from (
            select greatest(now(), c.last_inbound_at + make_interval(secs => a.debounce_seconds))
            from public.conversations as c
            join public.agents as a on a.organization_id = c.organization_id
            where c.id = new.conversation_id
        ) as quiet (since)
        where j.queueing_lock = 'reply:' || new.conversation_id
          and j.status = 'todo'
          and j.scheduled_at > quiet.since
        returning j.id, j.queue_name
    loop
        -- What Procrastinate's own insert trigger says (procrastinate_notify_queue_job_
        -- inserted_v1): a listening worker fetches the job at once, not at its next poll.
        payload := json_build_object('type', 'job_inserted', 'job_id', woken.id)::text;
        perform pg_notify('procrastinate_queue_v1#' || woken.queue_name, payload);
        perform pg_notify('procrastinate_any_queue_v1', payload);
    end loop;
    return null;
end;
$$;
