-- AI runs: one row per attempt to answer a conversation with the model, for cost
-- reporting (tokens), latency, and the history of what went wrong.

create table public.ai_runs (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    conversation_id uuid not null references public.conversations (id) on delete cascade,
    -- The message the run produced: the reply, the handoff notice or the fallback.
    message_id uuid references public.messages (id) on delete set null,
    model text not null,
    prompt_tokens integer not null default 0,
    completion_tokens integer not null default 0,
    latency_ms integer not null default 0,
    -- replied: the model answered; handoff: it handed over to a person;
    -- fallback: it failed for good and the customer got the fallback message;
    -- retrying: a transient failure that will be tried again; skipped: nothing to do.
    outcome text not null,
    -- Why the run failed, in words safe to show the team (never a key or a token).
    error text,
    created_at timestamptz not null default now(),
    constraint ai_runs_outcome check (
        outcome in ('replied', 'handoff', 'fallback', 'retrying', 'skipped')
    ),
    constraint ai_runs_tokens_not_negative check (prompt_tokens >= 0 and completion_tokens >= 0),
    constraint ai_runs_latency_not_negative check (latency_ms >= 0)
);

comment on table public.ai_runs is 'Each attempt of the AI to answer a conversation: model, tokens, latency, outcome.';

create index ai_runs_organization_created_idx on public.ai_runs (organization_id, created_at);
create index ai_runs_conversation_idx on public.ai_runs (conversation_id, created_at);
-- Runs point at their message; an index lets a message's deletion find them.
create index ai_runs_message_id_idx on public.ai_runs (message_id) where message_id is not null;

alter table public.ai_runs enable row level security;

create policy "Members can read their organizations' AI runs"
    on public.ai_runs for select to authenticated
    using (organization_id in (select private.organizations_of_caller()));

revoke all on table public.ai_runs from anon, authenticated;
grant select on table public.ai_runs to authenticated;

-- ======================================================================================
-- AI replies: the rules the reply job follows, as functions the worker calls (service
-- role) in its own transactions.
--
-- The job reads a conversation (may the AI answer? is anything waiting for an answer?),
-- asks the model outside any transaction, then records what happened in one
-- transaction: the outbound message (queued with its send job by
-- private.queue_outbound_message), the run in ai_runs, and any change of the
-- conversation's state. Each outcome has its function:
--
--   replied   private.record_ai_reply_v1      the model's text goes to the customer
--   handoff   private.record_ai_handoff_v1    the model asked for a person
--   fallback  private.record_ai_fallback_v1   the reply failed for good
--   retrying  private.record_ai_retry_v1      a transient failure; the job is deferred again
--   skipped   private.record_ai_skip_v1       the state forbids answering now
--
-- What the AI has answered is kept on the conversation (ai_answered_through: the
-- created_at of the newest customer message a reply, handoff or fallback covered), so a
-- job that finds nothing newer does nothing, and a burst that arrived while the model
-- was thinking is answered by the next job.
--
-- The reply job's questions (private.ai_reply_pending, private.consecutive_ai_retries)
-- are plpgsql, not SQL: a SQL function that cannot be inlined (these have `set
-- search_path`) is parsed and planned again at every call, while plpgsql keeps its plans
-- for the session (213 -> ~20 µs and 135 -> ~20 µs a call on PG 15). The job asks them
-- once per reply, and the rescue upkeep once per candidate conversation.

-- Upkeep scans: conversations that may close for inactivity, and those that may get a
-- follow-up. Partial, so they stay as small as the conversations they are about.
create index conversations_inactivity_idx
    on public.conversations (last_message_at)
    where status <> 'closed';
create index conversations_follow_up_idx
    on public.conversations (last_message_at)
    where status = 'open' and follow_up_sent_at is null;

-- May the AI answer now? ------------------------------------------------------------------

-- Why the AI may not answer this conversation now, or null when it may: the agent and
-- the conversation have the AI on, the conversation is open (not handed to a person, not
-- closed), the contact has not opted out, and a free-form message may be sent (WhatsApp's
-- 24-hour window; SMS has none).
create function private.ai_reply_blocker(conversation_id uuid)
    returns text
    language plpgsql
    stable
    security definer
    set search_path = pg_catalog
as $$
declare
    the_conversation public.conversations;
    agent_ai_enabled boolean;
    opted_out_at timestamptz;
    channel_kind public.channel_kind;
begin
    select * into the_conversation from public.conversations where id = conversation_id;
    if not found then
        return 'conversation_missing';
    end if;
    select a.ai_enabled into agent_ai_enabled
    from public.agents as a where a.organization_id = the_conversation.organization_id;
    select c.opted_out_at into opted_out_at
    from public.contacts as c where c.id = the_conversation.contact_id;
    select ch.kind into channel_kind
    from public.channels as ch where ch.id = the_conversation.channel_id;

    return case
        when the_conversation.status = 'closed' then 'conversation_closed'
        when the_conversation.status = 'handoff' then 'conversation_handoff'
        when not the_conversation.ai_enabled then 'conversation_ai_disabled'
        when not coalesce(agent_ai_enabled, false) then 'agent_ai_disabled'
        when opted_out_at is not null then 'contact_opted_out'
        when channel_kind = 'whatsapp'
            and coalesce(public.window_expires_at(the_conversation), '-infinity') <= now()
            then 'outside_customer_service_window'
    end;
end;
$$;

comment on function private.ai_reply_blocker is
    'Why the AI may not answer a conversation now (a code), or null when it may.';

-- Is a customer message waiting for an answer? One newer than what the AI answered and
-- newer than the team's last message (a person who answered has answered).
create function private.ai_reply_pending(conversation_id uuid)
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

comment on function private.ai_reply_pending is
    'Whether a customer message newer than the last AI answer and the last team message waits.';

-- How many times in a row the model failed transiently for this conversation: the
-- 'retrying' runs since its last run with any other outcome.
create function private.consecutive_ai_retries(conversation_id uuid)
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

comment on function private.consecutive_ai_retries is
    'Transient model failures in a row for a conversation (retrying runs since the last other run).';

-- Handing a conversation to a person ------------------------------------------------------

-- The one way the platform hands a conversation to the team: status 'handoff', AI off,
-- and the team told (event 'conversation.handoff'). Closed conversations stay closed.
-- Returns whether the conversation changed.
create function private.hand_off_conversation(
    conversation_id uuid,
    reason text,
    source text default 'ai'
)
    returns boolean
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    the_conversation public.conversations;
begin
    update public.conversations as c
    set status = 'handoff', ai_enabled = false
    where c.id = conversation_id
      and c.status <> 'closed'
      and (c.status <> 'handoff' or c.ai_enabled)
    returning * into the_conversation;
    if not found then
        return false;
    end if;
    perform private.publish_event(
        the_conversation.organization_id,
        'conversation.handoff',
        jsonb_build_object('conversation_id', conversation_id, 'reason', reason,
                           'source', source)
    );
    return true;
end;
$$;

comment on function private.hand_off_conversation is
    'Hands a conversation to the team: status handoff, AI off, event conversation.handoff.';

-- Recording each outcome -------------------------------------------------------------------

create function private.record_ai_skip_v1(
    conversation_id uuid,
    model text,
    reason text,
    prompt_tokens integer default 0,
    completion_tokens integer default 0,
    latency_ms integer default 0
)
    returns uuid
    language sql
    volatile
    security definer
    set search_path = pg_catalog
as $$
    insert into public.ai_runs (organization_id, conversation_id, model, prompt_tokens,
                                completion_tokens, latency_ms, outcome, error)
    select c.organization_id, c.id, record_ai_skip_v1.model,
           coalesce(record_ai_skip_v1.prompt_tokens, 0),
           coalesce(record_ai_skip_v1.completion_tokens, 0),
           coalesce(record_ai_skip_v1.latency_ms, 0), 'skipped', record_ai_skip_v1.reason
    from public.conversations as c
    where c.id = record_ai_skip_v1.conversation_id
    returning id
$$;

comment on function private.record_ai_skip_v1 is
    'Records that a reply job found a customer message waiting but may not answer it (skipped).';

-- A transient failure: the run is recorded and the reply job deferred again, in one
-- transaction, with the conversation's lock and queueing lock (a job already waiting for
-- the conversation is pushed back instead, and answers everything).
create function private.record_ai_retry_v1(
    conversation_id uuid,
    model text,
    error text,
    retry_in_seconds double precision,
    latency_ms integer default 0
)
    returns uuid
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    run_id uuid;
begin
    insert into public.ai_runs (organization_id, conversation_id, model, latency_ms, outcome,
                                error)
    select c.organization_id, c.id, model, coalesce(latency_ms, 0), 'retrying', error
    from public.conversations as c
    where c.id = record_ai_retry_v1.conversation_id
    returning id into run_id;
    if run_id is null then
        return null;
    end if;
    perform private.defer_job(
        task_name => 'conversations:generate_reply',
        args => jsonb_build_object('conversation_id', conversation_id),
        queue_name => 'replies',
        lock => 'conversation:' || conversation_id,
        queueing_lock => 'reply:' || conversation_id,
        scheduled_at => now() + make_interval(secs => greatest(retry_in_seconds, 0)),
        reschedule => true
    );
    return run_id;
end;
$$;

comment on function private.record_ai_retry_v1 is
    'Records a transient model failure (retrying) and defers the reply job again, together.';

-- The model answered: its text goes to the customer (author 'ai'), unless the
-- conversation changed while it was thinking (the team took over, the customer opted
-- out, the window closed, a team member answered): then nothing is sent and the run is
-- 'skipped' with the reason, tokens still counted.
create function private.record_ai_reply_v1(
    conversation_id uuid,
    body text,
    answered_through timestamptz,
    model text,
    prompt_tokens integer default 0,
    completion_tokens integer default 0,
    latency_ms integer default 0
)
    returns table (run_id uuid, outcome text, message_id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    the_conversation public.conversations;
    blocker text;
    new_run_id uuid := gen_random_uuid();
    new_message_id uuid;
    refused_by text;
begin
    select * into the_conversation from public.conversations as c
    where c.id = conversation_id
    for update;
    if not found then
        return;
    end if;

    blocker := private.ai_reply_blocker(conversation_id);
    if blocker is null and exists (
        select from public.messages as m
        where m.conversation_id = conversation_id and m.author = 'member'
          and m.created_at > coalesce(answered_through, '-infinity')
    ) then
        blocker := 'team_replied';
    end if;

    if blocker is null then
        begin
            new_message_id := private.queue_outbound_message(
                conversation_id => conversation_id,
                author => 'ai',
                body => body,
                metadata => jsonb_build_object('ai_run_id', new_run_id, 'kind', 'reply')
            );
        exception when check_violation then
            get stacked diagnostics refused_by = constraint_name;
            blocker := coalesce(nullif(refused_by, ''), 'refused');
        end;
    end if;

    if blocker is not null then
        insert into public.ai_runs (id, organization_id, conversation_id, model, prompt_tokens,
                                    completion_tokens, latency_ms, outcome, error)
        values (new_run_id, the_conversation.organization_id, conversation_id, model,
                coalesce(prompt_tokens, 0), coalesce(completion_tokens, 0),
                coalesce(latency_ms, 0), 'skipped',
                'the reply was not sent: ' || blocker);
        return query select new_run_id, 'skipped'::text, null::uuid;
        return;
    end if;

    update public.conversations as c
    set ai_answered_through = greatest(c.ai_answered_through, answered_through)
    where c.id = conversation_id;

    insert into public.ai_runs (id, organization_id, conversation_id, message_id, model,
                                prompt_tokens, completion_tokens, latency_ms, outcome)
    values (new_run_id, the_conversation.organization_id, conversation_id, new_message_id, model,
            coalesce(prompt_tokens, 0), coalesce(completion_tokens, 0), coalesce(latency_ms, 0),
            'replied');
    return query select new_run_id, 'replied'::text, new_message_id;
end;
$$;

comment on function private.record_ai_reply_v1 is
    'Queues the model''s reply (author ai) and records the run, unless the conversation changed meanwhile.';

-- The model asked for a person: the conversation goes to the team (handoff, AI off,
-- event), and the customer is told someone will answer: the model's own words when it
-- wrote any, then the agent's handoff message. If that notice cannot be sent (opted out,
-- window closed) the handoff still happens and the run says why. If the team already has
-- the conversation, nothing changes and the run is 'skipped'.
create function private.record_ai_handoff_v1(
    conversation_id uuid,
    reason text,
    model_text text,
    answered_through timestamptz,
    model text,
    prompt_tokens integer default 0,
    completion_tokens integer default 0,
    latency_ms integer default 0
)
    returns table (run_id uuid, outcome text, message_id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    the_conversation public.conversations;
    notice text;
    blocker text;
    new_run_id uuid := gen_random_uuid();
    new_message_id uuid;
    refused_by text;
    run_error text;
begin
    select * into the_conversation from public.conversations as c
    where c.id = conversation_id
    for update;
    if not found then
        return;
    end if;

    blocker := private.ai_reply_blocker(conversation_id);
    if blocker in ('conversation_closed', 'conversation_handoff', 'conversation_ai_disabled',
                   'agent_ai_disabled') then
        insert into public.ai_runs (id, organization_id, conversation_id, model, prompt_tokens,
                                    completion_tokens, latency_ms, outcome, error)
        values (new_run_id, the_conversation.organization_id, conversation_id, model,
                coalesce(prompt_tokens, 0), coalesce(completion_tokens, 0),
                coalesce(latency_ms, 0), 'skipped',
                'the handoff was not needed: ' || blocker);
        return query select new_run_id, 'skipped'::text, null::uuid;
        return;
    end if;

    select concat_ws(E'\n\n', nullif(btrim(model_text), ''), a.handoff_message) into notice
    from public.agents as a where a.organization_id = the_conversation.organization_id;

    begin
        new_message_id := private.queue_outbound_message(
            conversation_id => conversation_id,
            author => 'ai',
            body => left(notice, 4096),
            metadata => jsonb_build_object('ai_run_id', new_run_id, 'kind', 'handoff',
                                           'handoff_reason', reason)
        );
    exception when check_violation then
        get stacked diagnostics refused_by = constraint_name;
        run_error := 'the handoff notice was not sent: '
            || coalesce(nullif(refused_by, ''), 'refused');
    end;

    perform private.hand_off_conversation(conversation_id, reason, 'ai');

    update public.conversations as c
    set ai_answered_through = greatest(c.ai_answered_through, answered_through)
    where c.id = conversation_id;

    insert into public.ai_runs (id, organization_id, conversation_id, message_id, model,
                                prompt_tokens, completion_tokens, latency_ms, outcome, error)
    values (new_run_id, the_conversation.organization_id, conversation_id, new_message_id, model,
            coalesce(prompt_tokens, 0), coalesce(completion_tokens, 0), coalesce(latency_ms, 0),
            'handoff', run_error);
    return query select new_run_id, 'handoff'::text, new_message_id;
end;
$$;

comment on function private.record_ai_handoff_v1 is
    'The model asked for a person: notice to the customer, conversation handed off, run recorded.';

-- The reply failed for good (a permanent model error, retries exhausted, or a failure of
-- the job itself). The customer gets the agent's fallback message, sent as 'system' and
-- flagged is_error with the reason; the conversation goes to the team (handoff, AI off,
-- event); the run is 'fallback' with the error. Nothing is lost silently: if the message
-- cannot be queued (opted out, window closed, conversation closed) the handoff still
-- happens and the run says why. If the team already has the conversation, the customer
-- is not told about a failure nobody is waiting on, and the run is 'skipped'.
create function private.record_ai_fallback_v1(
    conversation_id uuid,
    error_code text,
    error_message text,
    answered_through timestamptz,
    model text,
    prompt_tokens integer default 0,
    completion_tokens integer default 0,
    latency_ms integer default 0
)
    returns table (run_id uuid, outcome text, message_id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    the_conversation public.conversations;
    blocker text;
    new_run_id uuid := gen_random_uuid();
    new_message_id uuid;
    refused_by text;
    run_error text := concat('[', error_code, '] ', error_message);
begin
    select * into the_conversation from public.conversations as c
    where c.id = conversation_id
    for update;
    if not found then
        return;
    end if;

    blocker := private.ai_reply_blocker(conversation_id);
    if blocker in ('conversation_handoff', 'conversation_ai_disabled', 'agent_ai_disabled') then
        insert into public.ai_runs (id, organization_id, conversation_id, model, prompt_tokens,
                                    completion_tokens, latency_ms, outcome, error)
        values (new_run_id, the_conversation.organization_id, conversation_id, model,
                coalesce(prompt_tokens, 0), coalesce(completion_tokens, 0),
                coalesce(latency_ms, 0), 'skipped',
                run_error || ' (no fallback sent: ' || blocker || ')');
        return query select new_run_id, 'skipped'::text, null::uuid;
        return;
    end if;

    begin
        new_message_id := private.queue_outbound_message(
            conversation_id => conversation_id,
            author => 'system',
            body => (select a.fallback_message from public.agents as a
                     where a.organization_id = the_conversation.organization_id),
            is_error => true,
            error_code => error_code,
            error_message => error_message,
            metadata => jsonb_build_object('ai_run_id', new_run_id, 'kind', 'fallback')
        );
    exception when check_violation then
        get stacked diagnostics refused_by = constraint_name;
        run_error := run_error || ' (the fallback message was not sent: '
            || coalesce(nullif(refused_by, ''), 'refused') || ')';
    end;

    perform private.hand_off_conversation(conversation_id, 'fallback: ' || run_error, 'fallback');

    update public.conversations as c
    set ai_answered_through = greatest(c.ai_answered_through, answered_through)
    where c.id = conversation_id;

    insert into public.ai_runs (id, organization_id, conversation_id, message_id, model,
                                prompt_tokens, completion_tokens, latency_ms, outcome, error)
    values (new_run_id, the_conversation.organization_id, conversation_id, new_message_id, model,
            coalesce(prompt_tokens, 0), coalesce(completion_tokens, 0), coalesce(latency_ms, 0),
            'fallback', run_error);
    return query select new_run_id, 'fallback'::text, new_message_id;
end;
$$;

comment on function private.record_ai_fallback_v1 is
    'The reply failed for good: fallback message (system, is_error), handoff, run recorded.';

-- Scheduled upkeep --------------------------------------------------------------------------

-- Closes conversations nobody wrote in for their agent's inactivity_hours, at most
-- batch_size at a time (the job repeats while batches come back full). Safe to run from
-- many workers at once: rows another run holds are skipped, and a closed conversation no
-- longer matches.
create function private.close_inactive_conversations_v1(batch_size integer default 500)
    returns integer
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    closed_count integer := 0;
    closed record;
begin
    for closed in
        with due as (
            select c.id
            from public.conversations as c
            join public.agents as a on a.organization_id = c.organization_id
            where c.status <> 'closed'
              and c.last_message_at < now() - make_interval(hours => a.inactivity_hours)
            order by c.last_message_at
            limit batch_size
            for update of c skip locked
        )
        update public.conversations as c
        set status = 'closed', closed_at = now()
        from due
        where c.id = due.id
        returning c.id, c.organization_id
    loop
        closed_count := closed_count + 1;
        perform private.publish_event(
            closed.organization_id,
            'conversation.closed',
            jsonb_build_object('conversation_id', closed.id, 'reason', 'inactivity')
        );
    end loop;
    return closed_count;
end;
$$;

comment on function private.close_inactive_conversations_v1 is
    'Closes up to batch_size conversations inactive for their agent''s inactivity_hours.';

-- Sends the agent's follow-up once to customers who went quiet: the last message of an
-- open, AI-run conversation is an answer (AI or team) at least follow_up_after_minutes
-- old, the customer has not written since, the window is still open, and no follow-up
-- was sent since the customer last wrote (ingest clears follow_up_sent_at). Sent as
-- 'ai' with metadata.kind = 'follow_up'. At most batch_size per call.
create function private.send_due_follow_ups_v1(batch_size integer default 500)
    returns integer
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    sent_count integer := 0;
    due record;
begin
    for due in
        select c.id, a.follow_up_message
        from public.conversations as c
        join public.agents as a on a.organization_id = c.organization_id
        join public.contacts as ct on ct.id = c.contact_id
        join public.channels as ch on ch.id = c.channel_id
        cross join lateral (
            select m.direction, m.author, m.is_error, m.created_at
            from public.messages as m
            where m.conversation_id = c.id
            order by m.created_at desc, m.id desc
            limit 1
        ) as last_message
        where c.status = 'open'
          and c.follow_up_sent_at is null
          and c.ai_enabled
          and a.ai_enabled
          and a.follow_up_message is not null
          and c.last_message_at <= now() - make_interval(mins => a.follow_up_after_minutes)
          and c.last_inbound_at is not null
          and ct.opted_out_at is null
          and (ch.kind <> 'whatsapp' or public.window_expires_at(c) > now())
          and last_message.direction = 'outbound'
          and last_message.author in ('ai', 'member')
          and not last_message.is_error
          and last_message.created_at <= now() - make_interval(mins => a.follow_up_after_minutes)
        order by c.last_message_at
        limit batch_size
        for update of c skip locked
    loop
        begin
            perform private.queue_outbound_message(
                conversation_id => due.id,
                author => 'ai',
                body => due.follow_up_message,
                metadata => jsonb_build_object('kind', 'follow_up')
            );
            update public.conversations set follow_up_sent_at = now() where id = due.id;
            sent_count := sent_count + 1;
        exception when check_violation then
            -- Refused by a rule that changed since the scan (opted out, closed, window):
            -- the next scan no longer selects it.
            null;
        end;
    end loop;
    return sent_count;
end;
$$;

comment on function private.send_due_follow_ups_v1 is
    'Queues the agent''s follow-up, once, to up to batch_size customers who went quiet inside the window.';

-- A safety net under the reply job: a customer message the AI should answer, with no
-- reply job waiting or running for its conversation, gets one.
--
-- The reply job answers or falls back on every path it controls; what it cannot control
-- is a failure to record even the fallback (the database unreachable at that moment), a
-- job aborted when a worker is stopped past its grace period, or a job removed by hand.
-- Those leave a job 'failed' or 'aborted' and a customer waiting. The upkeep job
-- conversations:rescue_unanswered_conversations calls this every few minutes.
create function private.rescue_unanswered_conversations_v1(
    grace interval default interval '2 minutes',
    batch_size integer default 500
)
    returns integer
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    rescued integer := 0;
    stranded record;
begin
    for stranded in
        select c.id
        from public.conversations as c
        join public.agents as a on a.organization_id = c.organization_id
        where c.status = 'open'
          and c.ai_enabled
          and a.ai_enabled
          -- Quiet for longer than the debounce and the grace: a job would have run.
          and c.last_message_at < now() - grace - make_interval(secs => a.debounce_seconds)
          and c.last_message_at > now() - interval '24 hours'
          and private.ai_reply_blocker(c.id) is null
          and private.ai_reply_pending(c.id)
          and not exists (
              select from procrastinate.procrastinate_jobs as j
              where j.queueing_lock = 'reply:' || c.id and j.status = 'todo'
          )
          and not exists (
              select from procrastinate.procrastinate_jobs as j
              where j.lock = 'conversation:' || c.id and j.status = 'doing'
          )
        order by c.last_message_at
        limit batch_size
    loop
        perform private.defer_job(
            task_name => 'conversations:generate_reply',
            args => jsonb_build_object('conversation_id', stranded.id),
            queue_name => 'replies',
            lock => 'conversation:' || stranded.id,
            queueing_lock => 'reply:' || stranded.id
        );
        rescued := rescued + 1;
    end loop;
    return rescued;
end;
$$;

comment on function private.rescue_unanswered_conversations_v1 is
    'Defers a reply job for conversations whose customer waits for the AI with no reply job queued or running.';

-- The reply job's first step in one call: what the model needs, or why the job stops.
--
-- Called as one statement (atende.db.session.Database.fetch_one: one round trip, where a
-- transaction of state and history queries took four), it asks the questions in the
-- order the job acts on them, and stops at the first that ends it:
--
--   nothing   no customer message waits for an answer (or no such conversation)
--   debounced the customer is still writing (their newest message is younger than the
--             agent's debounce): the job defers itself to the end of the quiet time
--             (private.defer_reply_job; this job holds the conversation's lock and is
--             'doing', so the queueing lock lets it be deferred) and stops
--   skipped   one waits, but the AI may not answer now: the run is recorded as
--             'skipped' with the reason (private.record_ai_skip_v1), run_id returned
--   ready     the agent's prompt settings, the transient failures in a row so far,
--             and the history window (oldest first, as JSON), with answered_through:
--             the newest customer message in that window (or, when the window holds
--             none, the newest at all), which is what the reply will have answered.
--
-- The rules themselves are the functions above (private.ai_reply_pending,
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

comment on function private.start_ai_reply_v1 is
    'The reply job''s first step: nothing to answer, a skip (recorded), or the prompt and history to answer with.';
