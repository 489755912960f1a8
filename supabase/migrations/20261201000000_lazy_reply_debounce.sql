-- The reply's debounce, checked when the job runs instead of on every message
-- (bench/ingest, issue 4).
--
-- Ingest used to push the waiting reply job back with each message of a burst: a
-- failed insert into procrastinate_jobs (a unique violation on the queueing lock,
-- caught in a subtransaction), an update of the job and a 'scheduled' event row from
-- Procrastinate's trigger. Measured with pg_stat_statements over 3,000 deliveries in
-- batches of 16 (1,000 customers): private.defer_job took 250 µs of the ingest's
-- ~850 µs per message, the most of any step.
--
-- Now:
--   * private.defer_job inserts with `on conflict (queueing_lock) where status = 'todo'
--     do nothing` (Procrastinate's own partial unique index judges, as before; no
--     subtransaction, no dead row when a job already waits), then reschedules if asked;
--   * ingest defers the reply at `debounce` after the burst's first message and leaves
--     a waiting job alone (private.defer_reply_job, which the job uses too);
--   * the reply job (private.start_ai_reply_v1) finds the customer still writing when
--     their newest message is younger than the debounce, defers itself to the end of
--     the quiet time and stops ('debounced'). A burst is still answered once, seeing
--     all of it, at `debounce` after its last message.

create or replace function private.defer_job(
    task_name text,
    args jsonb,
    queue_name text default 'default',
    lock text default null,
    queueing_lock text default null,
    scheduled_at timestamptz default null,
    reschedule boolean default false
)
    returns bigint
    language plpgsql
    volatile
    security definer
    set search_path = procrastinate, pg_catalog
as $$
#variable_conflict use_column
declare
    job_id bigint;
begin
    -- The columns procrastinate_defer_jobs_v1 fills, and the triggers fire as for it.
    insert into procrastinate.procrastinate_jobs as jobs
        (queue_name, task_name, priority, lock, queueing_lock, args, scheduled_at)
    values (defer_job.queue_name, defer_job.task_name, 0, defer_job.lock,
            defer_job.queueing_lock, defer_job.args, defer_job.scheduled_at)
    on conflict (queueing_lock) where status = 'todo' do nothing
    returning jobs.id into job_id;
    if job_id is null and defer_job.reschedule and defer_job.scheduled_at is not null then
        update procrastinate.procrastinate_jobs as jobs
        set scheduled_at = greatest(coalesce(jobs.scheduled_at, now()), defer_job.scheduled_at)
        where jobs.queueing_lock = defer_job.queueing_lock
          and jobs.status = 'todo';
    end if;
    return job_id;
end;
$$;

-- The reply job of a conversation, as ingest defers it and as the job defers itself: one
-- definition, because the debounce works only while both name the same queueing lock.
create function private.defer_reply_job(
    conversation_id uuid,
    scheduled_at timestamptz,
    reschedule boolean default false
)
    returns bigint
    language plpgsql
    volatile
    set search_path = pg_catalog
as $$
begin
    return private.defer_job(
        task_name => 'conversations:generate_reply',
        args => jsonb_build_object('conversation_id', defer_reply_job.conversation_id),
        queue_name => 'replies',
        lock => 'conversation:' || defer_reply_job.conversation_id,
        queueing_lock => 'reply:' || defer_reply_job.conversation_id,
        scheduled_at => defer_reply_job.scheduled_at,
        reschedule => defer_reply_job.reschedule
    );
end;
$$;

comment on function private.defer_reply_job is
    'Defers a conversation''s reply job (its lock and queueing lock); null when one already waits.';

revoke all on function private.defer_reply_job from public;

create or replace function public.ingest_inbound_message_v1(
    channel_id uuid,
    message_sid text,
    from_number text,
    body text,
    media jsonb default '[]',
    profile_name text default null,
    opt_out_type text default null,
    metadata jsonb default '{}'
)
    returns table (
        message_id uuid,
        conversation_id uuid,
        contact_id uuid,
        duplicate boolean,
        reply_job_id bigint
    )
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_column
declare
    the_channel public.channels;
    the_agent public.agents;
    the_contact public.contacts;
    the_conversation public.conversations;
    intent text := private.subscription_intent(body, opt_out_type);
    new_message_id uuid;
    job bigint;
    received_at timestamptz := now();
begin
    select * into strict the_channel from public.channels where id = channel_id;
    select * into strict the_agent from public.agents
    where organization_id = the_channel.organization_id;

    begin
        insert into public.contacts as c (organization_id, phone_number, profile_name,
                                          last_inbound_at, opted_out_at)
        values (the_channel.organization_id, from_number, nullif(btrim(profile_name), ''),
                received_at, case when intent = 'opt_out' then received_at end)
        on conflict (organization_id, phone_number) do update
            set profile_name = coalesce(excluded.profile_name, c.profile_name),
                last_inbound_at = excluded.last_inbound_at,
                opted_out_at = case intent
                    when 'opt_out' then coalesce(c.opted_out_at, excluded.last_inbound_at)
                    when 'opt_in' then null
                    else c.opted_out_at
                end
        returning * into the_contact;

        insert into public.conversations as cv (organization_id, channel_id, contact_id,
                                                last_inbound_at, last_message_at)
        values (the_channel.organization_id, the_channel.id, the_contact.id, received_at,
                received_at)
        on conflict (channel_id, contact_id) where status <> 'closed' do update
            set last_inbound_at = excluded.last_inbound_at,
                last_message_at = excluded.last_message_at,
                follow_up_sent_at = null
        returning * into the_conversation;

        insert into public.messages (organization_id, conversation_id, direction, author,
                                     body, media, status, metadata)
        values (the_channel.organization_id, the_conversation.id, 'inbound', 'contact',
                coalesce(body, ''), coalesce(media, '[]'), 'received',
                coalesce(metadata, '{}') || jsonb_build_object('message_sid', message_sid))
        returning id into new_message_id;
    exception when unique_violation then
        -- Only the message sid can collide here: this delivery was stored before.
        return query select m.id, m.conversation_id, c.contact_id, true, null::bigint
            from public.messages as m
            join public.conversations as c on c.id = m.conversation_id
            where m.metadata ->> 'message_sid' = ingest_inbound_message_v1.message_sid;
        return;
    end;

    if intent is null
        and the_contact.opted_out_at is null
        and the_agent.ai_enabled
        and the_conversation.ai_enabled
        and the_conversation.status = 'open' then
        -- A job already waiting is left as it is: it debounces itself when it runs
        -- (private.start_ai_reply_v1), so a burst costs no update per message.
        job := private.defer_reply_job(
            the_conversation.id,
            received_at + make_interval(secs => the_agent.debounce_seconds)
        );
    end if;

    perform private.publish_event(
        the_channel.organization_id,
        'message.created',
        jsonb_build_object('conversation_id', the_conversation.id, 'message_id', new_message_id)
    );

    return query select new_message_id, the_conversation.id, the_contact.id, false, job;
end;
$$;

create or replace function private.start_ai_reply_v1(conversation_id uuid)
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
    quiet_from timestamptz;
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

    -- The debounce: the customer is still writing when their newest message is younger
    -- than the agent's debounce. The job then waits for the burst to end (a job of
    -- its own, scheduled at the end of the quiet time; this one holds the
    -- conversation's lock and is 'doing', so the queueing lock lets it be deferred).
    select c.last_inbound_at + make_interval(secs => the_agent.debounce_seconds)
    into quiet_from
    from public.conversations as c
    where c.id = conversation_id;
    if quiet_from > now() then
        perform private.defer_reply_job(conversation_id, quiet_from, reschedule => true);
        return query select 'debounced'::text, null::uuid, null::text, null::text,
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
