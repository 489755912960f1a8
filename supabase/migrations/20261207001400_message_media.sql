-- Media kept by Atende (issue 19, items 1, 2 and 6): the files customers send are fetched
-- from Twilio into media storage, and the team attaches files to its replies.
--
-- No new table: a message's files stay the items of its `media` array, in order, and
-- each item records what became of its file (atende.media.models):
--   status         'pending' (or absent: not fetched yet), 'stored' or 'failed';
--   storage_key    where media storage keeps it, always under '<organization id>/';
--   size, file_name, content_type  of the file kept;
--   error_code, error_message      why it was not kept, in words the team can read.
-- Members read them as they read messages (row-level security on public.messages). Only
-- the platform records a fetch (private.record_message_media_v1, the media job); a team
-- member's attachments arrive stored, through public.send_member_message_v2.
--
-- * tg_messages__fetch_media: an inbound message with files defers
--   `channels:fetch_media` in the transaction that stores it (one job per message,
--   queue `media`).
-- * record_message_media_v1: the job's outcome for one item, announced to live inboxes.
-- * send_member_message_v2: v1 with attachments (WhatsApp: one file; SMS/MMS: up to ten),
--   checked against WhatsApp's types and sizes again here, whatever the client.

-- Fetching a customer's files ------------------------------------------------------------

create function private.tg_messages__fetch_media()
    returns trigger
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
begin
    perform private.defer_job(
        task_name => 'channels:fetch_media',
        args => jsonb_build_object('message_id', new.id),
        queue_name => 'media',
        queueing_lock => 'media:' || new.id
    );
    return null;
end;
$$;

comment on function private.tg_messages__fetch_media() is
    'Defers the job that fetches an inbound message''s files into media storage.';

create trigger tg_messages__fetch_media
    after insert on public.messages
    for each row
    when (new.direction = 'inbound' and new.media <> '[]'::jsonb)
    execute function private.tg_messages__fetch_media();

create function private.record_message_media_v1(
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
    if status is null or status not in ('stored', 'failed') then
        raise exception 'an outcome is stored or failed, not %', coalesce(status, 'null')
            using errcode = 'check_violation', constraint = 'media_outcome_status';
    end if;
    select * into the_message from public.messages as m where m.id = message_id for update;
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
    where id = message_id;

    perform private.publish_event(
        the_message.organization_id,
        'message.updated',
        jsonb_build_object('conversation_id', the_message.conversation_id,
                           'message_id', the_message.id)
    );
    return true;
end;
$$;

comment on function private.record_message_media_v1(uuid, integer, jsonb) is
    'Records what became of one file of a message (stored, with its key under the '
    'organization, or failed, with a reason the team can read); false when there is no '
    'such file.';

-- Sending files --------------------------------------------------------------------------

-- Whether `files` may go with a reply in `the_conversation`: null when they may, else
-- 'invalid_attachments'. WhatsApp's kinds and limits (atende.media.models says the same
-- to the team in words before anything is stored): images JPEG and PNG up to 5 MB, PDF
-- and audio up to 16 MB, one file a message, 16 MB in all; an SMS channel's MMS up to
-- ten files, 5 MB in all. Keys must be the team's uploads of that organization.
create function private.attachments_problem(the_conversation public.conversations, files jsonb)
    returns text
    language plpgsql
    stable
    security definer
    set search_path = pg_catalog
as $$
declare
    channel_kind text;
    file jsonb;
    total bigint := 0;
    size bigint;
    limit_bytes bigint;
begin
    if files is null or jsonb_typeof(files) <> 'array' then
        return 'invalid_attachments';
    end if;
    select ch.kind::text into channel_kind
    from public.channels as ch where ch.id = the_conversation.channel_id;
    if jsonb_array_length(files) > (case channel_kind when 'whatsapp' then 1 else 10 end) then
        return 'invalid_attachments';
    end if;
    for file in select value from jsonb_array_elements(files) loop
        if jsonb_typeof(file) <> 'object'
            or jsonb_typeof(file -> 'size') is distinct from 'number'
            or coalesce(file ->> 'storage_key', '')
                !~ ('^' || the_conversation.organization_id::text || '/uploads/[0-9a-f-]{36}$')
            or char_length(coalesce(file ->> 'file_name', '')) not between 1 and 100 then
            return 'invalid_attachments';
        end if;
        size := (file ->> 'size')::numeric::bigint;
        limit_bytes := case
            when file ->> 'content_type' in ('image/jpeg', 'image/png') then 5000000
            when file ->> 'content_type' in ('application/pdf', 'audio/ogg', 'audio/mpeg',
                                             'audio/amr', 'audio/aac', 'audio/mp4')
                then 16000000
        end;
        if limit_bytes is null or size < 1 or size > limit_bytes then
            return 'invalid_attachments';
        end if;
        total := total + size;
    end loop;
    if total > (case channel_kind when 'whatsapp' then 16000000 else 5000000 end) then
        return 'invalid_attachments';
    end if;
    return null;
end;
$$;

comment on function private.attachments_problem(public.conversations, jsonb) is
    'Null when the files may go with a reply in the conversation (WhatsApp''s kinds and '
    'sizes, the organization''s own uploads); else why not.';

create function public.send_member_message_v2(
    conversation_id uuid,
    body text,
    media jsonb default '[]'
)
    returns table (outcome text, message_id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    caller uuid := auth.uid();
    calling_key uuid := private.api_key_of_caller();
    the_conversation public.conversations;
    files jsonb := coalesce(media, '[]');
    text_body text := coalesce(body, '');
    new_message_id uuid;
    refusal text;
begin
    select * into the_conversation from public.conversations as c
    where c.id = send_member_message_v2.conversation_id;
    if not found or caller is null
        or private.caller_role_in(the_conversation.organization_id) is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;

    refusal := private.attachments_problem(the_conversation, files);
    if refusal is not null then
        return query select refusal, null::uuid;
        return;
    end if;
    -- WhatsApp's limit for a free-form message; with a file, the text (its caption) may
    -- be empty.
    if btrim(text_body) = '' then
        text_body := '';
    end if;
    if char_length(text_body) > 4096 or (text_body = '' and jsonb_array_length(files) = 0) then
        return query select 'invalid_body'::text, null::uuid;
        return;
    end if;

    begin
        new_message_id := private.queue_outbound_message(
            conversation_id => the_conversation.id,
            author => 'member',
            body => text_body,
            author_member_id => case when calling_key is null then caller end,
            metadata => case when calling_key is null then '{}'::jsonb
                             else jsonb_build_object('api_key_id', calling_key) end
        );
    exception when check_violation then
        get stacked diagnostics refusal = constraint_name;
        if refusal in ('conversation_closed', 'contact_opted_out',
                       'outside_customer_service_window') then
            return query select refusal, null::uuid;
            return;
        end if;
        raise;
    end;

    if jsonb_array_length(files) > 0 then
        -- Its send job cannot run before this transaction commits: it sees the files.
        update public.messages as m
        set media = (
            select jsonb_agg(jsonb_build_object(
                'status', 'stored',
                'storage_key', f.value ->> 'storage_key',
                'content_type', f.value ->> 'content_type',
                'size', (f.value ->> 'size')::numeric::bigint,
                'file_name', f.value ->> 'file_name'
            ) order by f.ordinality)
            from jsonb_array_elements(files) with ordinality as f
        )
        where m.id = new_message_id;
    end if;

    update public.conversations set ai_enabled = false
    where id = the_conversation.id and ai_enabled;

    return query select 'queued'::text, new_message_id;
end;
$$;

comment on function public.send_member_message_v2(uuid, text, jsonb) is
    'A team member''s (or API key''s) reply, with files the team uploaded to media storage '
    '(WhatsApp''s kinds and sizes): queued with its send job under the WhatsApp rules; '
    'pauses the AI in the conversation.';

-- Grants -----------------------------------------------------------------------------------

revoke all on function private.tg_messages__fetch_media(),
    private.record_message_media_v1(uuid, integer, jsonb),
    private.attachments_problem(public.conversations, jsonb),
    public.send_member_message_v2(uuid, text, jsonb)
    from public, anon, authenticated, service_role;
grant execute on function private.record_message_media_v1(uuid, integer, jsonb),
    private.attachments_problem(public.conversations, jsonb),
    public.send_member_message_v2(uuid, text, jsonb)
    to service_role;
-- The team's reply, which checks the caller's membership itself (as v1).
grant execute on function public.send_member_message_v2(uuid, text, jsonb) to authenticated;

-- Files received before this migration: fetched now, by the same job.
select private.defer_job(
    task_name => 'channels:fetch_media',
    args => jsonb_build_object('message_id', m.id),
    queue_name => 'media',
    queueing_lock => 'media:' || m.id
)
from public.messages as m
where m.direction = 'inbound' and m.media <> '[]'::jsonb;
