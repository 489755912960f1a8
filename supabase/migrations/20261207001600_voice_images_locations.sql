-- Voice notes, photos and locations reach the assistant (issue 19, items 3, 4 and 5).
--
-- * Voice notes are transcribed (`ai:transcribe_audio`, queue `media`), deferred by a
--   trigger when the media job has stored an audio file. Each audio item of
--   `messages.media` records its transcription (`transcript_status` 'done' or 'failed',
--   `transcript`, or `transcript_error_code` / `transcript_error_message` the team reads);
--   `messages.transcript` holds the message's transcripts together, for the team and the
--   inbox search (a trigram index like the body's).
-- * The reply job waits for them (private.start_ai_reply_v3): while a customer message it
--   is about to answer has an audio file not fetched or not transcribed yet (or an image
--   not fetched yet, for an agent that sees images), and for at most
--   `media_wait_seconds` after that message arrived, it defers itself to that bound, and
--   any change to the message's files wakes it early. So the assistant never answers a
--   voice note before its transcript exists, and never waits forever for one.
-- * `agents.vision_enabled`: images and stickers go to the model as images.
-- * The history the reply job reads carries a location's label, address and coordinates
--   (`messages.metadata`, kept by the webhook), and whether each message is still
--   waiting for an answer: a location with an empty body was dropped before, so the
--   assistant never answered it.

-- Settings and columns ---------------------------------------------------------------------

alter table public.agents add column vision_enabled boolean not null default false;

comment on column public.agents.vision_enabled is
    'Whether the model is sent the customer''s images and stickers (a model that accepts '
    'images); otherwise it is told in words that an image was sent.';

-- Owners and admins change it like the other settings (RLS decides who).
grant update (vision_enabled) on public.agents to authenticated;

alter table public.messages add column transcript text;
alter table public.messages add constraint messages_transcript_length
    check (char_length(transcript) <= 20000);

comment on column public.messages.transcript is
    'What the customer''s voice notes in this message say (their transcripts, in order); '
    'null when it has none transcribed.';

-- Searched as the body is (inbox_search_page); most messages have no transcript.
create index messages_transcript_search_idx on public.messages
    using gin (transcript extensions.gin_trgm_ops)
    with (gin_pending_list_limit = 256)
    where transcript is not null;

-- Locations ----------------------------------------------------------------------------------

-- A shared location as the webhook kept it (Twilio's Latitude, Longitude, Address, Label):
-- null unless both coordinates are numbers on the globe. Immutable and safe for any
-- caller: it reads only its argument.
create function private.message_location(metadata jsonb)
    returns jsonb
    language sql
    immutable
    parallel safe
    set search_path = pg_catalog
as $$
    -- Nested: the casts run only on text the patterns accepted.
    select case
        when coalesce(metadata ->> 'latitude', '') ~ '^\s*-?[0-9]{1,3}(\.[0-9]+)?\s*$'
            and coalesce(metadata ->> 'longitude', '') ~ '^\s*-?[0-9]{1,3}(\.[0-9]+)?\s*$'
        then case
            when abs((metadata ->> 'latitude')::numeric) <= 90
                and abs((metadata ->> 'longitude')::numeric) <= 180
            then jsonb_strip_nulls(jsonb_build_object(
                'latitude', (metadata ->> 'latitude')::numeric,
                'longitude', (metadata ->> 'longitude')::numeric,
                'address', nullif(btrim(left(metadata ->> 'address', 500)), ''),
                'label', nullif(btrim(left(metadata ->> 'label', 200)), '')
            ))
        end
    end
$$;

comment on function private.message_location(jsonb) is
    'A message''s shared location (latitude, longitude, address, label) from its metadata, '
    'or null.';

-- The inbox's newest message carries the transcript and the location too.
create or replace view private.inbox_entries with (security_invoker = true) as
select c.id, c.organization_id, c.channel_id, c.contact_id, c.status, c.ai_enabled,
       c.assignee_id, c.last_inbound_at, c.last_message_at, c.closed_at, c.created_at,
       c.window_expires_at,
       ct.id as contact__id, ct.organization_id as contact__organization_id,
       ct.phone_number as contact__phone_number, ct.profile_name as contact__profile_name,
       ct.display_name as contact__display_name, ct.opted_out_at as contact__opted_out_at,
       ct.last_inbound_at as contact__last_inbound_at, ct.created_at as contact__created_at,
       lm.id as last_message__id, lm.organization_id as last_message__organization_id,
       lm.conversation_id as last_message__conversation_id,
       lm.direction as last_message__direction, lm.author as last_message__author,
       lm.author_member_id as last_message__author_member_id, lm.body as last_message__body,
       lm.media::text as last_message__media, lm.status as last_message__status,
       lm.error_code as last_message__error_code,
       lm.error_message as last_message__error_message,
       lm.is_error as last_message__is_error, lm.created_at as last_message__created_at,
       lm.updated_at as last_message__updated_at,
       lm.transcript as last_message__transcript,
       private.message_location(lm.metadata)::text as last_message__location
from private.conversations_with_window as c
left join public.contacts as ct on ct.id = c.contact_id
left join lateral (
    select m.id, m.organization_id, m.conversation_id, m.direction, m.author,
           m.author_member_id, m.body, m.media, m.status, m.error_code, m.error_message,
           m.is_error, m.metadata, m.created_at, m.updated_at, m.transcript
    from public.messages as m
    where m.conversation_id = c.id
    order by m.created_at desc, m.id desc
    limit 1
) as lm on true;

-- Transcription ------------------------------------------------------------------------------

-- Whether an item of `messages.media` is a voice note (any audio) still to transcribe.
create function private.media_item_awaits_transcript(item jsonb)
    returns boolean
    language sql
    immutable
    parallel safe
    set search_path = pg_catalog
as $$
    select jsonb_typeof(item) = 'object'
        and coalesce(item ->> 'content_type', '') like 'audio/%'
        and coalesce(item ->> 'status', 'pending') in ('pending', 'stored')
        and not item ? 'transcript_status'
$$;

-- When an inbound message's files change (the media job recorded one, or a transcript was
-- recorded): a stored voice note without a transcript gets the transcription job, and a
-- reply job waiting for these files (start_ai_reply_v3) runs now rather than at its bound
-- (never before the end of the agent's debounce: the customer may still be writing).
create function private.tg_messages__media_changed()
    returns trigger
    language plpgsql
    volatile
    security definer
    -- procrastinate first: its own triggers on the jobs table name its tables unqualified.
    set search_path = procrastinate, pg_catalog
as $$
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
      and j.scheduled_at > quiet.since;
    return null;
end;
$$;

comment on function private.tg_messages__media_changed() is
    'Defers the transcription of a stored voice note, and wakes a reply job that waits for '
    'the message''s files.';

create trigger tg_messages__media_changed
    after update of media on public.messages
    for each row
    when (new.direction = 'inbound' and new.media is distinct from old.media)
    execute function private.tg_messages__media_changed();

-- The transcription job's outcome for one audio item: {"status": "done", "text": ...} or
-- {"status": "failed", "error_code": ..., "error_message": ...}; the message's
-- `transcript` becomes its items' transcripts, in order. False when there is no such item
-- or it was settled before (a job that ran twice records once).
create function private.record_message_transcript_v1(
    message_id uuid,
    "position" integer,
    outcome jsonb
)
    returns boolean
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    the_message public.messages;
    item jsonb;
    status text := outcome ->> 'status';
begin
    if status is null or status not in ('done', 'failed') then
        raise exception 'a transcription is done or failed, not %', coalesce(status, 'null')
            using errcode = 'check_violation', constraint = 'transcript_outcome_status';
    end if;
    select * into the_message from public.messages as m where m.id = message_id for update;
    if not found then
        return false;
    end if;
    item := the_message.media -> "position";
    if item is null or not private.media_item_awaits_transcript(item) then
        return false;
    end if;

    if status = 'done' then
        item := item || jsonb_build_object(
            'transcript_status', 'done',
            'transcript', left(btrim(coalesce(outcome ->> 'text', '')), 10000)
        );
    else
        if coalesce(btrim(outcome ->> 'error_code'), '') = ''
            or coalesce(btrim(outcome ->> 'error_message'), '') = '' then
            raise exception 'a failed transcription says why'
                using errcode = 'check_violation', constraint = 'transcript_failure_reason';
        end if;
        item := item || jsonb_build_object(
            'transcript_status', 'failed',
            'transcript_error_code', left(outcome ->> 'error_code', 64),
            'transcript_error_message', left(outcome ->> 'error_message', 500)
        );
    end if;

    update public.messages as m
    set media = jsonb_set(m.media, array["position"::text], item),
        transcript = (
            select left(string_agg(i.item ->> 'transcript', E'\n' order by i.n), 20000)
            from jsonb_array_elements(jsonb_set(m.media, array["position"::text], item))
                with ordinality as i (item, n)
            where i.item ->> 'transcript_status' = 'done'
              and btrim(coalesce(i.item ->> 'transcript', '')) <> ''
        ),
        updated_at = now()
    where m.id = message_id;

    perform private.publish_event(
        the_message.organization_id,
        'message.updated',
        jsonb_build_object('conversation_id', the_message.conversation_id,
                           'message_id', the_message.id)
    );
    return true;
end;
$$;

comment on function private.record_message_transcript_v1(uuid, integer, jsonb) is
    'Records a voice note''s transcript (or why there is none, for the team) on its media '
    'item and the message''s transcript; false when there is no such item to transcribe.';

-- The reply job's first step, v3 ---------------------------------------------------------------

-- start_ai_reply_v1 and v2 (kept for workers of the previous release) with:
-- * 'waiting': a customer message to answer has a voice note not fetched or not
--   transcribed yet, or (vision_enabled) an image not fetched yet, and arrived less than
--   `media_wait_seconds` ago: the job is deferred to that bound (a change to the files
--   wakes it sooner, tg_messages__media_changed) and does nothing now;
-- * each history item carries `location` (private.message_location) and `waiting` (a
--   customer message newer than what the AI last answered);
-- * the agent's vision_enabled.
create function private.start_ai_reply_v3(conversation_id uuid, media_wait_seconds double precision)
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

comment on function private.start_ai_reply_v3(uuid, double precision) is
    'The reply job''s first step: nothing to answer, debounced, a skip (recorded), waiting '
    'for the files it needs (voice notes transcribed, images fetched; bounded), or the '
    'prompt, settings and history (with locations) to answer with.';

-- Grants -----------------------------------------------------------------------------------

revoke all on function private.message_location(jsonb),
    private.media_item_awaits_transcript(jsonb),
    private.tg_messages__media_changed(),
    private.record_message_transcript_v1(uuid, integer, jsonb),
    private.start_ai_reply_v3(uuid, double precision)
    from public, anon, authenticated, service_role;
grant execute on function private.record_message_transcript_v1(uuid, integer, jsonb),
    private.start_ai_reply_v3(uuid, double precision)
    to service_role;
-- The inbox view is read by members (security_invoker): its location column calls this.
grant execute on function private.message_location(jsonb) to authenticated, service_role;
