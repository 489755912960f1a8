-- The other lookups of a message by id alone in SQL functions, through
-- private.message_created_at as the send and status paths do
-- (20261207002003_message_lookups_by_id): the media job's record_message_media_v1, the
-- transcription job's record_message_transcript_v1, and the send job's outcomes
-- (requeue_outbound_message_v1, mark_delivery_unknown_v1, fail_outbound_message) reach
-- one partition of public.messages instead of probing every month's id index. Each is
-- otherwise as it was.

create or replace function private.record_message_media_v1(message_id uuid, "position" integer, outcome jsonb) returns boolean
language plpgsql
security definer
set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    the_message public.messages;
    item jsonb;
    status text := outcome ->> 'status';
begin
    if status is null or status not in ('stored', 'failed') then
        raise exception 'an outcome is stored or failed, not %', coalesce(status, 'null')
            using errcode = 'check_violation', constraint = 'media_outcome_status';
    end if;
    select * into the_message from public.messages as m
    where m.id = message_id and m.created_at = private.message_created_at(message_id)
    for update;
    if not found then
        return false;
    end if;
    item := the_message.media -> "position";
    if item is null or jsonb_typeof(item) <> 'object' then
        return false;
    end if;

    if status = 'stored' then
        if coalesce(outcome ->> 'storage_key', '')
                not like the_message.organization_id::text || '/%'
            or jsonb_typeof(outcome -> 'size') is distinct from 'number' then
            raise exception 'a stored file has a size and a key under its organization'
                using errcode = 'check_violation', constraint = 'media_storage_key';
        end if;
        item := (item - 'error_code' - 'error_message') || jsonb_build_object(
            'status', 'stored',
            'storage_key', outcome ->> 'storage_key',
            'size', (outcome ->> 'size')::bigint,
            'file_name', outcome ->> 'file_name',
            'content_type', coalesce(outcome ->> 'content_type', item ->> 'content_type')
        );
    else
        if coalesce(btrim(outcome ->> 'error_code'), '') = ''
            or coalesce(btrim(outcome ->> 'error_message'), '') = '' then
            raise exception 'a failed file says why'
                using errcode = 'check_violation', constraint = 'media_failure_reason';
        end if;
        item := item || jsonb_build_object(
            'status', 'failed',
            'error_code', left(outcome ->> 'error_code', 64),
            'error_message', left(outcome ->> 'error_message', 500)
        );
    end if;

    update public.messages
    set media = jsonb_set(media, array["position"::text], item), updated_at = now()
    where id = message_id and created_at = the_message.created_at;

    perform private.publish_event(
        the_message.organization_id,
        'message.updated',
        jsonb_build_object('conversation_id', the_message.conversation_id,
                           'message_id', the_message.id)
    );
    return true;
end;
$$;


create or replace function private.record_message_transcript_v1(message_id uuid, "position" integer, outcome jsonb) returns boolean
language plpgsql
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
    select * into the_message from public.messages as m
    where m.id = message_id and m.created_at = private.message_created_at(message_id)
    for update;
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
    where m.id = message_id and m.created_at = the_message.created_at;

    perform private.publish_event(
        the_message.organization_id,
        'message.updated',
        jsonb_build_object('conversation_id', the_message.conversation_id,
                           'message_id', the_message.id)
    );
    return true;
end;
$$;


create or replace function private.requeue_outbound_message_v1(message_id uuid, error_code text, error_message text) returns boolean
language plpgsql
security definer
set search_path = pg_catalog
as $$
declare
    the_message public.messages;
begin
    update public.messages as m
    set status = 'queued',
        metadata = m.metadata || jsonb_build_object('last_error', jsonb_build_object(
            'code', requeue_outbound_message_v1.error_code,
            'message', left(requeue_outbound_message_v1.error_message, 1000),
            'at', now()))
    where m.id = message_id and m.created_at = private.message_created_at(message_id)
      and m.status = 'sending'
    returning * into the_message;
    if found then
        perform private.announce_message_change(the_message);
    end if;
    return found;
end;
$$;


create or replace function private.mark_delivery_unknown_v1(message_id uuid, error_message text) returns boolean
language plpgsql
security definer
set search_path = pg_catalog
as $$
declare
    the_message public.messages;
begin
    update public.messages as m
    set is_error = true,
        error_code = 'delivery_unknown',
        error_message = left(mark_delivery_unknown_v1.error_message, 1000)
    where m.id = message_id and m.created_at = private.message_created_at(message_id)
      and m.status = 'sending'
    returning * into the_message;
    if found then
        perform private.announce_message_change(the_message);
    end if;
    return found;
end;
$$;


create or replace function private.fail_outbound_message(message_id uuid, error_code text, error_message text, status public.message_status default 'failed'::public.message_status) returns public.messages
language plpgsql
security definer
set search_path = pg_catalog
as $$
declare
    the_message public.messages;
begin
    update public.messages as m
    set status = fail_outbound_message.status,
        is_error = true,
        error_code = fail_outbound_message.error_code,
        error_message = left(fail_outbound_message.error_message, 1000)
    where m.id = message_id and m.created_at = private.message_created_at(message_id)
      and private.message_status_may_advance(m.status, fail_outbound_message.status)
    returning * into the_message;
    if found then
        perform private.announce_message_change(the_message);
    end if;
    return the_message;
end;
$$;

