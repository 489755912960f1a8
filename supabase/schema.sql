-- supabase/schema.sql: GENERATED, do not edit. Regenerate with `make schema-sql`
-- (python -m tests.db.schema_sql) after changing supabase/migrations/; a test
-- (tests/db/test_schema_sql.py) fails while the two differ.
--
-- The place to read today's schema: Atende's own schemas (public, private) exactly as the
-- migrations leave them (pg_dump --schema-only --no-owner, pg_dump 15), with every
-- table, function, trigger, policy, grant and comment once, in pg_dump's order. Why an
-- object is the way it is: the comments in the migration that creates it. Not here:
-- auth and extensions (Supabase's, or the stand-ins of the compat migration) and
-- procrastinate (Procrastinate's packaged schema, checked by tests/db/test_migrations.py).

-- Name: private; Type: SCHEMA; Schema: -

CREATE SCHEMA private;

-- Name: public; Type: SCHEMA; Schema: -

CREATE SCHEMA public;

-- Name: SCHEMA public; Type: COMMENT; Schema: -

COMMENT ON SCHEMA public IS 'standard public schema';

-- Name: broadcast_recipient_status; Type: TYPE; Schema: public

CREATE TYPE public.broadcast_recipient_status AS ENUM (
    'queued',
    'sent',
    'skipped',
    'failed',
    'cancelled'
);

-- Name: broadcast_status; Type: TYPE; Schema: public

CREATE TYPE public.broadcast_status AS ENUM (
    'sending',
    'completed',
    'cancelled',
    'failed'
);

-- Name: TYPE broadcast_status; Type: COMMENT; Schema: public

COMMENT ON TYPE public.broadcast_status IS 'sending: recipients still being handed out at the channel''s pace; completed: every recipient handled; cancelled: by the team; failed: its job was given up (the recipients not sent to say why).';

-- Name: channel_kind; Type: TYPE; Schema: public

CREATE TYPE public.channel_kind AS ENUM (
    'whatsapp',
    'sms'
);

-- Name: conversation_status; Type: TYPE; Schema: public

CREATE TYPE public.conversation_status AS ENUM (
    'open',
    'handoff',
    'closed'
);

-- Name: membership_role; Type: TYPE; Schema: public

CREATE TYPE public.membership_role AS ENUM (
    'owner',
    'admin',
    'agent'
);

-- Name: TYPE membership_role; Type: COMMENT; Schema: public

COMMENT ON TYPE public.membership_role IS 'owner: everything, including other owners; admin: manages members and settings but cannot demote or remove an owner; agent: works conversations.';

-- Name: message_author; Type: TYPE; Schema: public

CREATE TYPE public.message_author AS ENUM (
    'contact',
    'ai',
    'member',
    'system'
);

-- Name: message_direction; Type: TYPE; Schema: public

CREATE TYPE public.message_direction AS ENUM (
    'inbound',
    'outbound'
);

-- Name: message_status; Type: TYPE; Schema: public

CREATE TYPE public.message_status AS ENUM (
    'received',
    'queued',
    'sending',
    'sent',
    'delivered',
    'read',
    'failed',
    'undelivered'
);

-- Name: scheduled_message_status; Type: TYPE; Schema: public

CREATE TYPE public.scheduled_message_status AS ENUM (
    'scheduled',
    'sent',
    'cancelled',
    'skipped',
    'failed'
);

-- Name: TYPE scheduled_message_status; Type: COMMENT; Schema: public

COMMENT ON TYPE public.scheduled_message_status IS 'scheduled: waiting for send_at; sent: queued for Twilio as message_id; cancelled: by the team; skipped: a rule forbade it at send time (reason); failed: it could not be sent as written (reason).';

-- Name: pending_users; Type: TABLE; Schema: private

CREATE TABLE private.pending_users (
    user_id uuid DEFAULT gen_random_uuid() NOT NULL,
    email text NOT NULL,
    purpose text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    abandoned_at timestamp with time zone,
    CONSTRAINT pending_users_email_lowercase CHECK ((email = lower(email))),
    CONSTRAINT pending_users_purpose CHECK ((purpose = ANY (ARRAY['registration'::text, 'invitation'::text])))
);

-- Name: TABLE pending_users; Type: COMMENT; Schema: private

COMMENT ON TABLE private.pending_users IS 'Users being created in the identity provider whose database rows are not committed yet.';

-- Name: abandoned_pending_users_v1(interval, interval); Type: FUNCTION; Schema: private

CREATE FUNCTION private.abandoned_pending_users_v1(in_flight_for interval, abandoned_for interval) RETURNS SETOF private.pending_users
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    select * from private.pending_users
    where created_at < now() - in_flight_for
       or abandoned_at < now() - abandoned_for
    order by created_at
    limit 100
$$;

-- Name: FUNCTION abandoned_pending_users_v1(in_flight_for interval, abandoned_for interval); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.abandoned_pending_users_v1(in_flight_for interval, abandoned_for interval) IS 'Reservations whose flow died or gave up (for the upkeep job): in flight for longer than any flow takes, or abandoned for longer than a late provider answer could take.';

-- Name: accept_invitation_v2(text, uuid, text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.accept_invitation_v2(token_hash text, user_id uuid, new_user_full_name text DEFAULT NULL::text) RETURNS TABLE(invitation_id uuid, organization_id uuid, membership_id uuid, email text, role text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    invitation public.invitations;
    address text;
    membership uuid;
    joined_as public.membership_role;
begin
    select * into invitation from public.invitations as i
    where i.token_hash = accept_invitation_v2.token_hash
      and i.accepted_at is null and i.revoked_at is null and i.expires_at > now()
    for update;
    if not found then
        raise sqlstate 'PT404' using message = 'invitation not found, expired or already used';
    end if;

    if new_user_full_name is not null then
        delete from private.pending_users as pu
        where pu.user_id = accept_invitation_v2.user_id
          and pu.email = invitation.email
          and pu.purpose = 'invitation'
          and pu.abandoned_at is null;
        if not found then
            raise sqlstate 'PT404' using message = 'no account is pending for this invitation';
        end if;
        insert into public.profiles (id, email, full_name, email_verified_at)
        values (
            accept_invitation_v2.user_id,
            invitation.email,
            private.require_text(new_user_full_name, 'full_name', 200),
            now()
        );
    end if;

    update public.profiles as p
    set email_verified_at = coalesce(p.email_verified_at, now())
    where p.id = accept_invitation_v2.user_id and lower(p.email) = invitation.email
    returning p.email into address;
    if address is null then
        raise sqlstate 'PT404' using message = 'invitation not found, expired or already used';
    end if;

    insert into public.memberships (organization_id, user_id, role)
    values (invitation.organization_id, accept_invitation_v2.user_id, invitation.role)
    on conflict on constraint memberships_organization_user_key do nothing
    returning id, memberships.role into membership, joined_as;
    if membership is null then  -- a member already (added another way): the invitation is spent
        select m.id, m.role into membership, joined_as from public.memberships as m
        where m.organization_id = invitation.organization_id
          and m.user_id = accept_invitation_v2.user_id;
    end if;

    update public.invitations as i
    set accepted_at = now(), accepted_by = accept_invitation_v2.user_id
    where i.id = invitation.id;

    return query select
        invitation.id, invitation.organization_id, membership, address, joined_as::text;
end;
$$;

-- Name: FUNCTION accept_invitation_v2(token_hash text, user_id uuid, new_user_full_name text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.accept_invitation_v2(token_hash text, user_id uuid, new_user_full_name text) IS 'Makes the invited address''s account a member with the invited role; PT404 otherwise.';

-- Name: ai_reply_blocker(uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.ai_reply_blocker(conversation_id uuid) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION ai_reply_blocker(conversation_id uuid); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.ai_reply_blocker(conversation_id uuid) IS 'Why the AI may not answer a conversation now (a code), or null when it may.';

-- Name: ai_reply_pending(uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.ai_reply_pending(conversation_id uuid) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION ai_reply_pending(conversation_id uuid); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.ai_reply_pending(conversation_id uuid) IS 'Whether a customer message newer than the last AI answer and the last team message waits.';

-- Name: messages; Type: TABLE; Schema: public

CREATE TABLE public.messages (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    conversation_id uuid NOT NULL,
    direction public.message_direction NOT NULL,
    author public.message_author NOT NULL,
    author_member_id uuid,
    body text DEFAULT ''::text NOT NULL,
    media jsonb DEFAULT '[]'::jsonb NOT NULL,
    status public.message_status NOT NULL,
    error_code text,
    error_message text,
    is_error boolean DEFAULT false NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    transcript text,
    CONSTRAINT messages_body_length CHECK ((char_length(body) <= 10000)),
    CONSTRAINT messages_inbound_from_contact CHECK (((direction = 'inbound'::public.message_direction) = (author = 'contact'::public.message_author))),
    CONSTRAINT messages_media_is_array CHECK ((jsonb_typeof(media) = 'array'::text)),
    CONSTRAINT messages_member_author CHECK (((author_member_id IS NULL) OR (author = 'member'::public.message_author))),
    CONSTRAINT messages_metadata_is_object CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT messages_transcript_length CHECK ((char_length(transcript) <= 20000))
)
PARTITION BY RANGE (created_at);

-- Name: TABLE messages; Type: COMMENT; Schema: public

COMMENT ON TABLE public.messages IS 'Every message of a conversation, inbound and outbound. Partitioned by month on created_at (partitions in the schema partitions, made and dropped by private.maintain_message_partitions); its key is (id, organization_id, created_at); a sid is unique through private.message_sids.';

-- Name: COLUMN messages.transcript; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.messages.transcript IS 'What the customer''s voice notes in this message say (their transcripts, in order); null when it has none transcribed.';

-- Name: announce_message_change(public.messages); Type: FUNCTION; Schema: private

CREATE FUNCTION private.announce_message_change(the_message public.messages) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    AS $$
begin
    -- The trigger tg_messages__publish_changes announces the change.
    null;
end;
$$;

-- Name: FUNCTION announce_message_change(the_message public.messages); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.announce_message_change(the_message public.messages) IS 'Does nothing: the trigger tg_messages__publish_changes announces every change of a message (kept for its callers).';

-- Name: api_key_of_caller(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.api_key_of_caller() RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    select k.id from public.api_keys as k
    where k.id = (select auth.uid()) and k.revoked_at is null
$$;

-- Name: FUNCTION api_key_of_caller(); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.api_key_of_caller() IS 'The calling API key''s id while it is not revoked; null when the caller is not a key.';

-- Name: assert_organization_has_owner(uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.assert_organization_has_owner(organization uuid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    if exists (select from public.organizations where id = organization)
        and not exists (
            select from public.memberships
            where organization_id = organization and role = 'owner'
        ) then
        raise exception 'an organization must keep at least one owner'
            using errcode = 'check_violation', constraint = 'organizations_need_an_owner';
    end if;
end;
$$;

-- Name: conversations; Type: TABLE; Schema: public

CREATE TABLE public.conversations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    channel_id uuid NOT NULL,
    contact_id uuid NOT NULL,
    status public.conversation_status DEFAULT 'open'::public.conversation_status NOT NULL,
    ai_enabled boolean DEFAULT true NOT NULL,
    assignee_id uuid,
    last_inbound_at timestamp with time zone,
    last_message_at timestamp with time zone DEFAULT now() NOT NULL,
    follow_up_sent_at timestamp with time zone,
    closed_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    ai_answered_through timestamp with time zone,
    follow_up_skipped_at timestamp with time zone,
    follow_up_skip_reason text,
    CONSTRAINT conversations_follow_up_skip_pair CHECK (((follow_up_skipped_at IS NULL) = (follow_up_skip_reason IS NULL))),
    CONSTRAINT conversations_follow_up_skip_reason CHECK ((follow_up_skip_reason = ANY (ARRAY['no_follow_up_template'::text, 'follow_up_template_not_on_channel'::text, 'follow_up_template_has_variables'::text])))
);

-- Name: TABLE conversations; Type: COMMENT; Schema: public

COMMENT ON TABLE public.conversations IS 'A thread between an organization and a contact on one channel.';

-- Name: COLUMN conversations.ai_answered_through; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.conversations.ai_answered_through IS 'created_at of the newest customer message the AI has answered (reply, handoff or fallback).';

-- Name: COLUMN conversations.follow_up_skipped_at; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.conversations.follow_up_skipped_at IS 'When a follow-up fell due outside the 24-hour window and could not go (see follow_up_skip_reason); it counts until the customer writes again (last_inbound_at).';

-- Name: COLUMN conversations.follow_up_skip_reason; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.conversations.follow_up_skip_reason IS 'no_follow_up_template: the agent has none; follow_up_template_not_on_channel: no template with its ContentSid on this conversation''s channel; follow_up_template_has_variables: the template needs values the job cannot give.';

-- Name: attachments_problem(public.conversations, jsonb); Type: FUNCTION; Schema: private

CREATE FUNCTION private.attachments_problem(the_conversation public.conversations, files jsonb) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $_$
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
$_$;

-- Name: FUNCTION attachments_problem(the_conversation public.conversations, files jsonb); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.attachments_problem(the_conversation public.conversations, files jsonb) IS 'Null when the files may go with a reply in the conversation (WhatsApp''s kinds and sizes, the organization''s own uploads); else why not.';

-- Name: broadcast_rate(public.channel_kind, numeric); Type: FUNCTION; Schema: private

CREATE FUNCTION private.broadcast_rate(kind public.channel_kind, setting numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog'
    AS $$
    select coalesce(setting, case kind when 'whatsapp' then 80 else 1 end)
$$;

-- Name: FUNCTION broadcast_rate(kind public.channel_kind, setting numeric); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.broadcast_rate(kind public.channel_kind, setting numeric) IS 'A channel''s broadcast pace in messages a second: its setting, else 80 (WhatsApp) or 1 (SMS).';

-- Name: broadcast_recipient_state(public.broadcast_recipient_status, public.message_status); Type: FUNCTION; Schema: private

CREATE FUNCTION private.broadcast_recipient_state(recipient_status public.broadcast_recipient_status, message_status public.message_status) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog'
    AS $$
    select case
        when recipient_status <> 'sent' then recipient_status::text
        when message_status in ('delivered', 'read') then 'delivered'
        when message_status in ('failed', 'undelivered') then 'failed'
        when message_status = 'sent' then 'sent'
        when message_status is null then 'sent'
        else 'sending'
    end
$$;

-- Name: FUNCTION broadcast_recipient_state(recipient_status public.broadcast_recipient_status, message_status public.message_status); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.broadcast_recipient_state(recipient_status public.broadcast_recipient_status, message_status public.message_status) IS 'A recipient as the API shows it: queued, sending, sent, delivered, failed, skipped or cancelled.';

-- Name: caller_role_in(uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.caller_role_in(organization uuid) RETURNS public.membership_role
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    select role from public.memberships
    where organization_id = organization and user_id = (select auth.uid())
    union all
    select k.role from public.api_keys as k
    where k.organization_id = organization and k.id = (select auth.uid())
      and k.revoked_at is null
$$;

-- Name: FUNCTION caller_role_in(organization uuid); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.caller_role_in(organization uuid) IS 'The calling user''s (or API key''s) role in the organization; null when neither a member nor a key of it.';

-- Name: claim_broadcast_batch_v1(uuid, integer); Type: FUNCTION; Schema: private

CREATE FUNCTION private.claim_broadcast_batch_v1(broadcast_id uuid, batch_size integer) RETURNS TABLE(status public.broadcast_status, handled integer, remaining integer, wait_seconds double precision)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_column
declare
    the_broadcast public.broadcasts;
    the_channel public.channels;
    recipient record;
    the_contact public.contacts;
    the_conversation public.conversations;
    new_message_id uuid;
    done integer := 0;
    interval_seconds double precision;
    started timestamptz := clock_timestamp();
    next_at timestamptz;
begin
    -- One batch at a time per broadcast (and cancel waits for it).
    select * into the_broadcast from public.broadcasts as b
    where b.id = claim_broadcast_batch_v1.broadcast_id
    for update;
    if not found then
        return query select 'cancelled'::public.broadcast_status, 0, 0, 0::double precision;
        return;
    end if;
    if the_broadcast.status <> 'sending' then
        return query select the_broadcast.status, 0, 0, 0::double precision;
        return;
    end if;
    -- Not yet: the previous batch's time is not over (a job that just took over, or a
    -- second job of the same broadcast, waits it out instead of sending early).
    if the_broadcast.next_batch_at > started then
        return query select 'sending'::public.broadcast_status, 0,
            (select count(*)::integer from public.broadcast_recipients as r
             where r.broadcast_id = the_broadcast.id and r.status = 'queued'),
            extract(epoch from the_broadcast.next_batch_at - started)::double precision;
        return;
    end if;
    select * into strict the_channel from public.channels where id = the_broadcast.channel_id;

    for recipient in
        select r.contact_id from public.broadcast_recipients as r
        where r.broadcast_id = the_broadcast.id and r.status = 'queued'
        order by r.position
        limit greatest(batch_size, 1)
        for update skip locked
    loop
        done := done + 1;
        select * into strict the_contact from public.contacts where id = recipient.contact_id;
        if not the_channel.enabled then
            update public.broadcast_recipients as r
            set status = 'failed', reason = 'channel_disabled', handled_at = now()
            where r.broadcast_id = the_broadcast.id and r.contact_id = recipient.contact_id;
            continue;
        end if;
        -- Opted out since the broadcast was made.
        if the_contact.opted_out_at is not null then
            update public.broadcast_recipients as r
            set status = 'skipped', reason = 'opted_out', handled_at = now()
            where r.broadcast_id = the_broadcast.id and r.contact_id = recipient.contact_id;
            continue;
        end if;
        -- Their conversation on this channel, started if they have none open (as when the
        -- customer writes first; the AI answers when they reply).
        insert into public.conversations as cv (organization_id, channel_id, contact_id,
                                                last_message_at)
        values (the_broadcast.organization_id, the_channel.id, the_contact.id, now())
        on conflict (channel_id, contact_id, organization_id) where status <> 'closed' do update
            set last_message_at = cv.last_message_at
        returning * into the_conversation;

        new_message_id := private.queue_outbound_message(
            conversation_id => the_conversation.id,
            author => 'member',
            body => the_broadcast.body,
            author_member_id => the_broadcast.created_by,
            metadata => jsonb_build_object(
                'content_sid', the_broadcast.content_sid,
                'content_variables', the_broadcast.variables,
                'template_id', the_broadcast.template_id,
                'template_name', the_broadcast.template_name,
                'broadcast_id', the_broadcast.id,
                'broadcast_recipient', the_broadcast.id || ':' || the_contact.id
            ) || case when the_broadcast.api_key_id is null then '{}'::jsonb
                      else jsonb_build_object('api_key_id', the_broadcast.api_key_id) end
        );
        update public.broadcast_recipients as r
        set status = 'sent', conversation_id = the_conversation.id,
            message_id = new_message_id, handled_at = now()
        where r.broadcast_id = the_broadcast.id and r.contact_id = recipient.contact_id;
    end loop;

    select count(*) into remaining from public.broadcast_recipients as r
    where r.broadcast_id = the_broadcast.id and r.status = 'queued';

    -- The pace: each batch of n earns n / rate seconds after the previous one's slot. A
    -- broadcast a little behind (a slow batch, a busy machine) catches up, by at most one
    -- second's worth (Twilio queues a short burst at the sender's rate); one far behind
    -- (a worker died) starts again from now rather than bursting above the rate.
    interval_seconds := done / the_broadcast.rate_per_second;
    next_at := greatest(coalesce(the_broadcast.next_batch_at, started),
                        started - interval '1 second');
    next_at := next_at + make_interval(secs => interval_seconds);

    update public.broadcasts as b
    set next_batch_at = next_at,
        status = case when remaining = 0 then 'completed'::public.broadcast_status
                      else b.status end,
        finished_at = case when remaining = 0 then now() else b.finished_at end
    where b.id = the_broadcast.id;

    return query select
        case when remaining = 0 then 'completed'::public.broadcast_status
             else 'sending'::public.broadcast_status end,
        done, remaining,
        greatest(0, extract(epoch from next_at - clock_timestamp()))::double precision;
end;
$$;

-- Name: FUNCTION claim_broadcast_batch_v1(broadcast_id uuid, batch_size integer); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.claim_broadcast_batch_v1(broadcast_id uuid, batch_size integer) IS 'The broadcast job''s step: up to batch_size queued recipients get their template message (or are skipped or failed, with the reason) in one transaction; the broadcast''s state, what is left, and how long to wait to keep the channel''s pace.';

-- Name: claim_endpoint_disabled_notice_v1(uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.claim_endpoint_disabled_notice_v1(endpoint_id uuid) RETURNS TABLE(email text, full_name text, organization_name text, url text, failing_since timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_column
declare
    the_endpoint public.webhook_endpoints;
begin
    update public.webhook_endpoints as e
    set owners_notified_at = now()
    where e.id = claim_endpoint_disabled_notice_v1.endpoint_id
      and not e.enabled and e.disabled_reason = 'failing' and e.owners_notified_at is null
    returning * into the_endpoint;
    if not found then
        return;
    end if;
    return query
    select p.email, p.full_name, o.name, the_endpoint.url, the_endpoint.failing_since
    from public.memberships as m
    join public.profiles as p on p.id = m.user_id
    join public.organizations as o on o.id = m.organization_id
    where m.organization_id = the_endpoint.organization_id and m.role = 'owner'
    order by p.email;
end;
$$;

-- Name: FUNCTION claim_endpoint_disabled_notice_v1(endpoint_id uuid); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.claim_endpoint_disabled_notice_v1(endpoint_id uuid) IS 'The owners to mail about an endpoint disabled for failing, once (marks it notified).';

-- Name: claim_media_deletions_v1(integer); Type: FUNCTION; Schema: private

CREATE FUNCTION private.claim_media_deletions_v1(batch_size integer) RETURNS TABLE(id bigint, storage_key text)
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    select d.id, d.storage_key from private.media_deletions as d
    order by d.id
    limit batch_size
    for update skip locked
$$;

-- Name: FUNCTION claim_media_deletions_v1(batch_size integer); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.claim_media_deletions_v1(batch_size integer) IS 'Locks up to batch_size queued file removals for the calling transaction (deleted by it once storage has removed them).';

-- Name: claim_outbound_message_v1(uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.claim_outbound_message_v1(message_id uuid) RETURNS TABLE(outcome text, organization_id uuid, conversation_id uuid, body text, media jsonb, metadata jsonb, attempts integer, channel_kind public.channel_kind, channel_phone_number text, twilio_account_sid text, twilio_auth_token_ciphertext text, contact_phone_number text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_column
declare
    the_message public.messages;
    the_conversation public.conversations;
    the_channel public.channels;
    the_contact public.contacts;
    parts_known integer;
    verdict text;
begin
    select * into the_message from public.messages as m
    where m.id = claim_outbound_message_v1.message_id
      and m.created_at = private.message_created_at(claim_outbound_message_v1.message_id)
    for update;
    if not found then
        return query select 'not_found', null::uuid, null::uuid, null::text, null::jsonb,
            null::jsonb, null::integer, null::public.channel_kind, null::text, null::text,
            null::text, null::text;
        return;
    end if;
    select * into strict the_conversation from public.conversations
    where id = the_message.conversation_id;
    select * into strict the_channel from public.channels where id = the_conversation.channel_id;
    select * into strict the_contact from public.contacts where id = the_conversation.contact_id;

    if the_message.direction <> 'outbound' then
        verdict := 'not_queued';
    elsif the_message.status = 'sending' then
        parts_known := jsonb_array_length(coalesce(the_message.metadata -> 'parts', '[]'));
        if parts_known > 0
            and parts_known >= coalesce((the_message.metadata ->> 'part_count')::integer, 1) then
            verdict := 'already_sent';
        else
            verdict := 'delivery_unknown';
            if the_message.error_code is distinct from 'delivery_unknown' then
                update public.messages
                set is_error = true,
                    error_code = 'delivery_unknown',
                    error_message = 'O envio foi interrompido e não sabemos se a mensagem '
                        'chegou ao Twilio; ela não será reenviada automaticamente.'
                where id = the_message.id and created_at = the_message.created_at
                returning * into the_message;
                perform private.announce_message_change(the_message);
            end if;
        end if;
    elsif the_message.status <> 'queued' then
        verdict := 'not_queued';
    elsif the_contact.opted_out_at is not null then
        verdict := 'contact_opted_out';
        perform private.fail_outbound_message(the_message.id, verdict,
            'O contato pediu para não receber mensagens (opt-out).');
    elsif not the_channel.enabled then
        verdict := 'channel_disabled';
        perform private.fail_outbound_message(the_message.id, verdict,
            'O canal está desativado.');
    elsif the_channel.kind = 'whatsapp'
        and not coalesce(the_message.metadata ? 'content_sid', false)
        and coalesce(public.window_expires_at(the_conversation), '-infinity') <= now() then
        verdict := 'outside_customer_service_window';
        perform private.fail_outbound_message(the_message.id, verdict,
            'Fora da janela de 24 horas do WhatsApp: só modelos aprovados podem ser enviados.');
    else
        verdict := 'claimed';
        update public.messages
        set status = 'sending',
            metadata = the_message.metadata || jsonb_build_object(
                'send_attempts', coalesce((the_message.metadata ->> 'send_attempts')::integer, 0) + 1)
        where id = the_message.id and created_at = the_message.created_at
        returning * into the_message;
        perform private.announce_message_change(the_message);
    end if;

    return query select verdict, the_message.organization_id, the_message.conversation_id,
        the_message.body, the_message.media, the_message.metadata,
        coalesce((the_message.metadata ->> 'send_attempts')::integer, 0),
        the_channel.kind, the_channel.phone_number, the_channel.twilio_account_sid,
        the_channel.twilio_auth_token_ciphertext, the_contact.phone_number;
end;
$$;

-- Name: FUNCTION claim_outbound_message_v1(message_id uuid); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.claim_outbound_message_v1(message_id uuid) IS 'The send job claims a queued message (queued -> sending) after re-checking opt-out, channel and window.';

-- Name: claim_webhook_delivery_v1(uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.claim_webhook_delivery_v1(delivery_id uuid) RETURNS TABLE(endpoint_id uuid, url text, secret_ciphertext text, payload jsonb, attempts integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_column
declare
    the_delivery public.webhook_deliveries;
    the_endpoint public.webhook_endpoints;
begin
    select * into the_delivery from public.webhook_deliveries as d
    where d.id = claim_webhook_delivery_v1.delivery_id and d.status = 'pending'
    for update;
    if not found then
        return;
    end if;
    select * into strict the_endpoint from public.webhook_endpoints as e
    where e.id = the_delivery.endpoint_id;
    if not the_endpoint.enabled then
        update public.webhook_deliveries as d
        set status = 'failed', next_attempt_at = null,
            last_error = 'the endpoint is disabled'
        where d.id = the_delivery.id;
        return;
    end if;
    return query select the_endpoint.id, the_endpoint.url,
                        the_endpoint.secret_ciphertext, the_delivery.payload,
                        the_delivery.attempts;
end;
$$;

-- Name: FUNCTION claim_webhook_delivery_v1(delivery_id uuid); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.claim_webhook_delivery_v1(delivery_id uuid) IS 'A pending delivery''s endpoint and payload, for the job to post; none when not pending or the endpoint is disabled (the delivery then fails).';

-- Name: close_inactive_conversations_v1(integer); Type: FUNCTION; Schema: private

CREATE FUNCTION private.close_inactive_conversations_v1(batch_size integer DEFAULT 500) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION close_inactive_conversations_v1(batch_size integer); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.close_inactive_conversations_v1(batch_size integer) IS 'Closes up to batch_size conversations inactive for their agent''s inactivity_hours.';

-- Name: compact_usage_counters_v1(timestamp with time zone, integer); Type: FUNCTION; Schema: private

CREATE FUNCTION private.compact_usage_counters_v1(since timestamp with time zone, batch_size integer) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION compact_usage_counters_v1(since timestamp with time zone, batch_size integer); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.compact_usage_counters_v1(since timestamp with time zone, batch_size integer) IS 'Folds the usage counters of hours since `since` (up to an hour ago) into one row per organization, hour and conversation; returns the groups folded.';

-- Name: consecutive_ai_retries(uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.consecutive_ai_retries(conversation_id uuid) RETURNS integer
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION consecutive_ai_retries(conversation_id uuid); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.consecutive_ai_retries(conversation_id uuid) IS 'Transient model failures in a row for a conversation (retrying runs since the last other run).';

-- Name: contact_tags_are_valid(text[]); Type: FUNCTION; Schema: private

CREATE FUNCTION private.contact_tags_are_valid(tags text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog'
    AS $$
    -- Commas and semicolons separate tags in a CSV cell, so no tag holds one.
    select cardinality(tags) <= 50
       and tags = private.normalize_contact_tags(tags)
       and not exists (
           select from unnest(tags) as tag
           where char_length(tag) > 50 or tag ~ '[,;[:cntrl:]]'
       )
$$;

-- Name: FUNCTION contact_tags_are_valid(tags text[]); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.contact_tags_are_valid(tags text[]) IS 'At most 50 normalised tags of 1 to 50 characters, none holding a comma or semicolon.';

-- Name: continue_broadcast_v1(uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.continue_broadcast_v1(broadcast_id uuid) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'procrastinate', 'pg_catalog'
    AS $$
    -- private.defer_job's insert (the columns procrastinate_defer_jobs_v1 fills, so its
    -- triggers fire as for it), with a priority, which defer_job does not take.
    insert into procrastinate.procrastinate_jobs
        (queue_name, task_name, priority, lock, queueing_lock, args, scheduled_at)
    select 'broadcasts', 'channels:send_broadcast', 10,
           'broadcast:' || continue_broadcast_v1.broadcast_id, null,
           jsonb_build_object('broadcast_id', continue_broadcast_v1.broadcast_id), null
    from public.broadcasts as b
    where b.id = continue_broadcast_v1.broadcast_id and b.status = 'sending'
    returning id
$$;

-- Name: FUNCTION continue_broadcast_v1(broadcast_id uuid); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.continue_broadcast_v1(broadcast_id uuid) IS 'Defers the next link of a broadcast''s job chain, ahead of the sends (priority 10): a job runs for a bounded time, so a worker stopping never waits on a long broadcast.';

-- Name: defer_job(text, jsonb, text, text, text, timestamp with time zone, boolean); Type: FUNCTION; Schema: private

CREATE FUNCTION private.defer_job(task_name text, args jsonb, queue_name text DEFAULT 'default'::text, lock text DEFAULT NULL::text, queueing_lock text DEFAULT NULL::text, scheduled_at timestamp with time zone DEFAULT NULL::timestamp with time zone, reschedule boolean DEFAULT false) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'procrastinate', 'pg_catalog'
    AS $$
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

-- Name: FUNCTION defer_job(task_name text, args jsonb, queue_name text, lock text, queueing_lock text, scheduled_at timestamp with time zone, reschedule boolean); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.defer_job(task_name text, args jsonb, queue_name text, lock text, queueing_lock text, scheduled_at timestamp with time zone, reschedule boolean) IS 'Defers a Procrastinate job in the current transaction; null when one with the same queueing_lock is already waiting.';

-- Name: defer_knowledge_indexing(uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.defer_knowledge_indexing(document_id uuid) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    -- One job waits per document (it reads the newest revision when it runs), and two
    -- never run at once.
    select private.defer_job(
        'knowledge:index_document',
        jsonb_build_object('document_id', document_id),
        'knowledge',
        lock => 'knowledge_document:' || document_id,
        queueing_lock => 'knowledge_document:' || document_id
    )
$$;

-- Name: FUNCTION defer_knowledge_indexing(document_id uuid); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.defer_knowledge_indexing(document_id uuid) IS 'Defers the indexing job of a document (one waiting per document).';

-- Name: defer_reply_job(uuid, timestamp with time zone, boolean); Type: FUNCTION; Schema: private

CREATE FUNCTION private.defer_reply_job(conversation_id uuid, scheduled_at timestamp with time zone, reschedule boolean DEFAULT false) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION defer_reply_job(conversation_id uuid, scheduled_at timestamp with time zone, reschedule boolean); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.defer_reply_job(conversation_id uuid, scheduled_at timestamp with time zone, reschedule boolean) IS 'Defers a conversation''s reply job (its lock and queueing lock); null when one already waits.';

-- Name: delete_expired_messages_v1(integer); Type: FUNCTION; Schema: private

CREATE FUNCTION private.delete_expired_messages_v1(batch_size integer) RETURNS TABLE(messages integer, runs integer, deliveries integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    gone jsonb;
begin
    -- Oldest first, per organization, on messages_organization_created_idx: each call is
    -- one short transaction over at most batch_size rows, so nothing waits behind it.
    with expired as (
        select m.id
        from public.organizations as o
        cross join lateral (
            select m.id from public.messages as m
            where m.organization_id = o.id
              and m.created_at < now() - make_interval(days => o.message_retention_days)
            order by m.created_at
            limit batch_size
        ) as m
        where o.message_retention_days is not null
        limit batch_size
    ), deleted as (
        delete from public.messages as m
        using expired as e
        where m.id = e.id
        returning m.organization_id, m.media
    )
    select coalesce(jsonb_agg(jsonb_build_object('organization_id', d.organization_id,
                                                 'media', d.media))
                    filter (where d.media <> '[]'::jsonb), '[]'::jsonb),
           count(*)::integer
    into gone, messages
    from deleted as d;
    perform private.queue_media_deletions(gone);

    -- The AI runs and outgoing-webhook deliveries of that age: their payloads and errors
    -- may quote what the messages said. (Usage keeps their counts.)
    with expired as (
        select r.id
        from public.organizations as o
        cross join lateral (
            select r.id from public.ai_runs as r
            where r.organization_id = o.id
              and r.created_at < now() - make_interval(days => o.message_retention_days)
            order by r.created_at
            limit batch_size
        ) as r
        where o.message_retention_days is not null
        limit batch_size
    ), deleted as (
        delete from public.ai_runs as r using expired as e where r.id = e.id returning 1
    )
    select count(*)::integer into runs from deleted;

    with expired as (
        select d.id
        from public.organizations as o
        join public.webhook_endpoints as w on w.organization_id = o.id
        cross join lateral (
            select d.id from public.webhook_deliveries as d
            where d.endpoint_id = w.id
              and d.created_at < now() - make_interval(days => o.message_retention_days)
            order by d.created_at
            limit batch_size
        ) as d
        where o.message_retention_days is not null
        limit batch_size
    ), deleted as (
        delete from public.webhook_deliveries as d using expired as e where d.id = e.id
        returning 1
    )
    select count(*)::integer into deliveries from deleted;
    return next;
end;
$$;

-- Name: FUNCTION delete_expired_messages_v1(batch_size integer); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.delete_expired_messages_v1(batch_size integer) IS 'Deletes up to batch_size messages (and as many AI runs and webhook deliveries) older than their organization''s message_retention_days, queueing their files for removal.';

-- Name: delete_jobs_naming(text[]); Type: FUNCTION; Schema: private

CREATE FUNCTION private.delete_jobs_naming(ids text[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'procrastinate', 'pg_catalog'
    AS $$
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

-- Name: FUNCTION delete_jobs_naming(ids text[]); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.delete_jobs_naming(ids text[]) IS 'Deletes the jobs (waiting or finished; not running) one of whose arguments is one of ids.';

-- Name: end_other_sessions_v1(uuid, uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.end_other_sessions_v1(user_id uuid, kept uuid) RETURNS SETOF uuid
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    update private.sessions as s
    set revoked_at = now(), revoked_reason = 'password_change'
    where s.user_id = end_other_sessions_v1.user_id
      and s.revoked_at is null
      and s.id is distinct from end_other_sessions_v1.kept
    returning s.id
$$;

-- Name: FUNCTION end_other_sessions_v1(user_id uuid, kept uuid); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.end_other_sessions_v1(user_id uuid, kept uuid) IS 'Signs out all of a user''s sessions except kept (a password changed); returns them.';

-- Name: fail_knowledge_document_v1(uuid, integer, text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.fail_knowledge_document_v1(document_id uuid, revision integer, error text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_variable
begin
    update public.knowledge_documents as d
    set status = 'failed', error = left(btrim(error), 500), chunk_count = 0
    where d.id = document_id and d.revision = revision;
    if not found then
        return 'stale';
    end if;
    delete from public.knowledge_passages as p where p.document_id = document_id;
    return 'failed';
end;
$$;

-- Name: FUNCTION fail_knowledge_document_v1(document_id uuid, revision integer, error text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.fail_knowledge_document_v1(document_id uuid, revision integer, error text) IS 'Marks a document failed (its passages removed), unless it changed since the job read it.';

-- Name: fail_outbound_message(uuid, text, text, public.message_status); Type: FUNCTION; Schema: private

CREATE FUNCTION private.fail_outbound_message(message_id uuid, error_code text, error_message text, status public.message_status DEFAULT 'failed'::public.message_status) RETURNS public.messages
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: fail_outbound_message_v1(uuid, text, text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.fail_outbound_message_v1(message_id uuid, error_code text, error_message text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    the_message public.messages;
begin
    the_message := private.fail_outbound_message(message_id, error_code, error_message);
    if the_message.id is null then
        return false;
    end if;
    if error_code = '21610' then
        update public.contacts as c
        set opted_out_at = coalesce(c.opted_out_at, now())
        from public.conversations as cv
        where cv.id = the_message.conversation_id and c.id = cv.contact_id;
    end if;
    return true;
end;
$$;

-- Name: FUNCTION fail_outbound_message_v1(message_id uuid, error_code text, error_message text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.fail_outbound_message_v1(message_id uuid, error_code text, error_message text) IS 'Fails an outbound message visibly with Twilio''s code and message.';

-- Name: give_up_broadcast_v1(uuid, text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.give_up_broadcast_v1(broadcast_id uuid, reason text) RETURNS public.broadcast_status
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_variable
declare
    the_broadcast public.broadcasts;
begin
    -- The broadcast's lock orders this with a batch claim or a cancel still running.
    select * into the_broadcast from public.broadcasts as b
    where b.id = broadcast_id
    for update;
    if not found then
        return null;
    end if;
    if the_broadcast.status <> 'sending' then
        return the_broadcast.status;
    end if;
    update public.broadcast_recipients as r
    set status = 'failed', reason = left(reason, 200), handled_at = now()
    where r.broadcast_id = the_broadcast.id and r.status = 'queued';
    update public.broadcasts as b
    set status = 'failed', finished_at = now()
    where b.id = the_broadcast.id;
    return 'failed';
end;
$$;

-- Name: FUNCTION give_up_broadcast_v1(broadcast_id uuid, reason text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.give_up_broadcast_v1(broadcast_id uuid, reason text) IS 'The stalled-job sweep gave up a broadcast''s job: a broadcast still sending fails, its queued recipients fail with the reason, what was sent stays sent; returns its status.';

-- Name: give_up_scheduled_message_v1(uuid, text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.give_up_scheduled_message_v1(scheduled_message_id uuid, reason text) RETURNS public.scheduled_message_status
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_variable
declare
    the_status public.scheduled_message_status;
begin
    update public.scheduled_messages as s
    set status = 'failed', reason = reason, processed_at = now()
    where s.id = scheduled_message_id and s.status = 'scheduled'
    returning s.status into the_status;
    if not found then
        select s.status into the_status from public.scheduled_messages as s
        where s.id = scheduled_message_id;
    end if;
    return the_status;
end;
$$;

-- Name: FUNCTION give_up_scheduled_message_v1(scheduled_message_id uuid, reason text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.give_up_scheduled_message_v1(scheduled_message_id uuid, reason text) IS 'The stalled-job sweep gave up the send job of a scheduled message: a message still scheduled fails with the reason; returns its status (null when it no longer exists).';

-- Name: hand_off_conversation(uuid, text, text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.hand_off_conversation(conversation_id uuid, reason text, source text DEFAULT 'ai'::text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION hand_off_conversation(conversation_id uuid, reason text, source text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.hand_off_conversation(conversation_id uuid, reason text, source text) IS 'Hands a conversation to the team: status handoff, AI off, event conversation.handoff.';

-- Name: has_another_owner(uuid, uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.has_another_owner(organization uuid, excluded_user uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    select exists (
        select from public.memberships
        where organization_id = organization and role = 'owner' and user_id <> excluded_user
    )
$$;

-- Name: ingest_inbound_message_v1(uuid, text, text, text, jsonb, text, text, jsonb); Type: FUNCTION; Schema: private

CREATE FUNCTION private.ingest_inbound_message_v1(channel_id uuid, message_sid text, from_number text, body text, media jsonb DEFAULT '[]'::jsonb, profile_name text DEFAULT NULL::text, opt_out_type text DEFAULT NULL::text, metadata jsonb DEFAULT '{}'::jsonb) RETURNS TABLE(message_id uuid, conversation_id uuid, contact_id uuid, duplicate boolean, reply_job_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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
    known_id uuid;
    known_at timestamptz;
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
        on conflict (channel_id, contact_id, organization_id) where status <> 'closed' do update
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
        -- Only the message sid can collide here (private.message_sids' key, claimed by
        -- tg_messages__claim_keys as the message goes in): this delivery was stored
        -- before, maybe in another month's partition. Found by id and created_at, so the
        -- lookup reaches one partition.
        select s.message_id, s.message_created_at into known_id, known_at
        from private.message_sids as s
        where s.message_sid = ingest_inbound_message_v1.message_sid;
        return query select m.id, m.conversation_id, c.contact_id, true, null::bigint
            from public.messages as m
            join public.conversations as c on c.id = m.conversation_id
            where m.id = known_id and m.created_at = known_at;
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

-- Name: FUNCTION ingest_inbound_message_v1(channel_id uuid, message_sid text, from_number text, body text, media jsonb, profile_name text, opt_out_type text, metadata jsonb); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.ingest_inbound_message_v1(channel_id uuid, message_sid text, from_number text, body text, media jsonb, profile_name text, opt_out_type text, metadata jsonb) IS 'Stores an inbound Twilio message exactly once (by MessageSid) with its contact, conversation and reply job.';

-- Name: invitation_email_v1(text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.invitation_email_v1(token_hash text) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    address text;
begin
    select i.email into address from public.invitations as i
    where i.token_hash = invitation_email_v1.token_hash
      and i.accepted_at is null and i.revoked_at is null and i.expires_at > now();
    if address is null then
        raise sqlstate 'PT404' using message = 'invitation not found, expired or already used';
    end if;
    return address;
end;
$$;

-- Name: invite_member_v2(uuid, uuid, text, public.membership_role, text, interval); Type: FUNCTION; Schema: private

CREATE FUNCTION private.invite_member_v2(actor uuid, organization_id uuid, email text, role public.membership_role, token_hash text, ttl interval) RETURNS TABLE(invitation_id uuid, organization_name text, inviter_name text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_column
declare
    actor_role public.membership_role := private.role_in(invite_member_v2.organization_id, actor);
    normalized text;
    invitation uuid;
begin
    if actor_role is null then
        raise sqlstate 'PT404' using message = 'organization not found';
    end if;
    if actor_role = 'agent' then
        raise sqlstate 'PT403' using message = 'only owners and admins can invite members';
    end if;
    if invite_member_v2.role = 'owner' and actor_role <> 'owner' then
        raise sqlstate 'PT403' using message = 'only an owner can make someone an owner';
    end if;
    normalized := private.normalize_email(invite_member_v2.email);
    if exists (
        select from public.memberships as m
        join public.profiles as p on p.id = m.user_id
        where m.organization_id = invite_member_v2.organization_id
          and lower(p.email) = normalized
    ) then
        raise sqlstate 'PT409' using
            message = 'already a member of this organization',
            constraint = 'memberships_organization_user_key';
    end if;

    -- Inviting again replaces the open invitation's link and role: for an owner's
    -- invitation, that is an owner's decision (as revoking it is).
    if actor_role <> 'owner' and exists (
        select from public.invitations as i
        where i.organization_id = invite_member_v2.organization_id
          and i.email = normalized
          and i.role = 'owner'
          and i.accepted_at is null and i.revoked_at is null
    ) then
        raise sqlstate 'PT403' using message = 'only an owner can change an owner''s invitation';
    end if;

    insert into public.invitations as i (
        organization_id, email, role, invited_by, token_hash, expires_at
    )
    values (
        invite_member_v2.organization_id, normalized, invite_member_v2.role, actor,
        invite_member_v2.token_hash, now() + ttl
    )
    on conflict (organization_id, email) where accepted_at is null and revoked_at is null
    do update set
        role = excluded.role,
        invited_by = excluded.invited_by,
        token_hash = excluded.token_hash,
        sent_at = now(),
        expires_at = excluded.expires_at
    returning i.id into invitation;

    return query
    select invitation, o.name, p.full_name
    from public.organizations as o, public.profiles as p
    where o.id = invite_member_v2.organization_id and p.id = actor;
end;
$$;

-- Name: FUNCTION invite_member_v2(actor uuid, organization_id uuid, email text, role public.membership_role, token_hash text, ttl interval); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.invite_member_v2(actor uuid, organization_id uuid, email text, role public.membership_role, token_hash text, ttl interval) IS 'Records (or renews, with a new token) an invitation by actor under the role rules.';

-- Name: issue_account_token_v1(uuid, text, text, interval); Type: FUNCTION; Schema: private

CREATE FUNCTION private.issue_account_token_v1(user_id uuid, purpose text, token_hash text, ttl interval) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    address text;
begin
    select lower(p.email) into address from public.profiles as p
    where p.id = issue_account_token_v1.user_id;
    if address is null then
        raise sqlstate 'PT404' using message = 'user not found';
    end if;
    update private.account_tokens as t set used_at = now()
    where t.user_id = issue_account_token_v1.user_id
      and t.purpose = issue_account_token_v1.purpose
      and t.used_at is null;
    insert into private.account_tokens (token_hash, user_id, purpose, email, expires_at)
    values (issue_account_token_v1.token_hash, issue_account_token_v1.user_id,
            issue_account_token_v1.purpose, address, now() + ttl);
    return address;
end;
$$;

-- Name: FUNCTION issue_account_token_v1(user_id uuid, purpose text, token_hash text, ttl interval); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.issue_account_token_v1(user_id uuid, purpose text, token_hash text, ttl interval) IS 'Issues a verification or reset token (earlier ones of that purpose stop working); returns the address to mail it to.';

-- Name: issue_password_reset_v1(text, text, interval); Type: FUNCTION; Schema: private

CREATE FUNCTION private.issue_password_reset_v1(email text, token_hash text, ttl interval) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    normalized text := private.normalize_email(email);
    owner uuid;
begin
    select p.id into owner from public.profiles as p where lower(p.email) = normalized;
    if owner is null then
        return null;
    end if;
    perform private.issue_account_token_v1(owner, 'reset_password', token_hash, ttl);
    return owner;
end;
$$;

-- Name: FUNCTION issue_password_reset_v1(email text, token_hash text, ttl interval); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.issue_password_reset_v1(email text, token_hash text, ttl interval) IS 'Issues a reset token for the account with this e-mail; null (and nothing) when none.';

-- Name: knowledge_full_text_matches_v1(uuid, tsquery, integer); Type: FUNCTION; Schema: private

CREATE FUNCTION private.knowledge_full_text_matches_v1(organization uuid, query tsquery, candidates integer) RETURNS TABLE(id uuid, rank bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    if current_setting('role') <> 'service_role'
        and not exists (
            select from private.organizations_of_caller() as visible (organization_id)
            where visible.organization_id = organization
        )
    then
        return;
    end if;
    -- The ranking is search_passages' own (ts_rank without length normalisation, the
    -- shorter passage first on a tie); the statement fuses by these ranks.
    return query
    select p.id,
           row_number() over (
               order by ts_rank(p.search_vector, query) desc, octet_length(p.content),
                        p.position, p.id
           ) as rank
    from public.knowledge_passages as p
    where p.organization_id = organization
      and p.search_vector @@ query
    order by rank
    limit candidates;
end
$$;

-- Name: FUNCTION knowledge_full_text_matches_v1(organization uuid, query tsquery, candidates integer); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.knowledge_full_text_matches_v1(organization uuid, query tsquery, candidates integer) IS 'Knowledge search''s full-text leg: the organization''s passages matching query, ranked (ids and ranks, at most candidates), for its members and the platform only; run as owner so the full-text index serves members too.';

-- Name: lock_organization_for_member_change(uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.lock_organization_for_member_change(organization uuid) RETURNS public.membership_role
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    caller_role public.membership_role;
begin
    caller_role := private.caller_role_in(organization);
    if caller_role is null then
        -- Non-members learn nothing about the organization, not even that it exists.
        raise sqlstate 'PT404' using message = 'organization not found';
    end if;
    if private.api_key_of_caller() is not null then
        raise sqlstate 'PT403' using message = 'API keys cannot change members';
    end if;
    perform from public.organizations where id = organization for no key update;
    return caller_role;
end;
$$;

-- Name: FUNCTION lock_organization_for_member_change(organization uuid); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.lock_organization_for_member_change(organization uuid) IS 'Serialises membership changes of one organization; PT404 unless the caller is a member, PT403 for an API key.';

-- Name: maintain_message_partitions(integer, timestamp with time zone); Type: FUNCTION; Schema: private

CREATE FUNCTION private.maintain_message_partitions(ahead integer DEFAULT 3, as_of timestamp with time zone DEFAULT now()) RETURNS TABLE(action text, partition_name text, row_count bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    SET lock_timeout TO '2s'
    AS $_$
declare
    this_month timestamp := date_trunc('month', as_of at time zone 'UTC');
    next_month timestamp;
    name text;
    moved bigint;
    old record;
    holds_rows boolean;
begin
    if ahead is null or ahead < 0 or ahead > 24 then
        raise exception 'ahead must be between 0 and 24 months, not %', ahead
            using errcode = 'invalid_parameter_value';
    end if;

    -- 1. Ahead.
    loop
        select m.month + interval '1 month' into next_month
        from private.message_partition_months() as m order by m.month desc limit 1;
        exit when next_month > this_month + make_interval(months => ahead);
        name := 'messages_' || to_char(next_month, 'YYYY_MM');
        begin
            alter table public.messages detach partition partitions.messages_after;
            execute format('create table partitions.%I (like public.messages'
                           ' including defaults including constraints)', name);
            execute format('with moved as (delete from partitions.messages_after'
                           ' where created_at < $1 returning *)'
                           ' insert into partitions.%I select * from moved', name)
            using (next_month + interval '1 month') at time zone 'UTC';
            get diagnostics moved = row_count;
            execute format('alter table public.messages attach partition partitions.%I'
                           ' for values from (%L) to (%L)', name,
                           next_month at time zone 'UTC',
                           (next_month + interval '1 month') at time zone 'UTC');
            execute format('alter table public.messages attach partition'
                           ' partitions.messages_after for values from (%L) to (maxvalue)',
                           (next_month + interval '1 month') at time zone 'UTC');
            return query select 'created'::text, name, moved;
        exception when lock_not_available then
            return query select 'busy'::text, name, null::bigint;
            exit;
        end;
    end loop;

    -- 2. Behind.
    for old in
        select m.partition_name as name, m.month from private.message_partition_months() as m
        where m.month + interval '1 month' <= this_month
        order by m.month
    loop
        execute format('select exists (select from partitions.%I)', old.name) into holds_rows;
        exit when holds_rows;
        begin
            execute format('alter table public.messages detach partition partitions.%I',
                           old.name);
            -- Detached under ACCESS EXCLUSIVE on messages: nothing wrote to it since.
            execute format('select exists (select from partitions.%I)', old.name)
            into holds_rows;
            if holds_rows then
                raise exception using errcode = 'object_in_use';
            end if;
            execute format('drop table partitions.%I', old.name);
            alter table public.messages detach partition partitions.messages_before;
            execute format('alter table public.messages attach partition'
                           ' partitions.messages_before for values from (minvalue) to (%L)',
                           (old.month + interval '1 month') at time zone 'UTC');
            return query select 'dropped'::text, old.name, 0::bigint;
        exception
            when lock_not_available then
                return query select 'busy'::text, old.name, null::bigint;
                exit;
            when object_in_use then
                exit;
        end;
    end loop;
end;
$_$;

-- Name: FUNCTION maintain_message_partitions(ahead integer, as_of timestamp with time zone); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.maintain_message_partitions(ahead integer, as_of timestamp with time zone) IS 'The upkeep of public.messages'' monthly partitions (UTC months, as of as_of): makes this month''s and the next `ahead` months'', moving the rows messages_after caught into them; detaches and drops the oldest empty ones entirely before this month, messages_before taking over their range; returns what it did (created with the rows moved, dropped, busy).';

-- Name: mark_delivery_unknown_v1(uuid, text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.mark_delivery_unknown_v1(message_id uuid, error_message text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION mark_delivery_unknown_v1(message_id uuid, error_message text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.mark_delivery_unknown_v1(message_id uuid, error_message text) IS 'Flags a claimed message whose fate at Twilio is unknown; it is never sent again.';

-- Name: media_item_awaits_transcript(jsonb); Type: FUNCTION; Schema: private

CREATE FUNCTION private.media_item_awaits_transcript(item jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog'
    AS $$
    select jsonb_typeof(item) = 'object'
        and coalesce(item ->> 'content_type', '') like 'audio/%'
        and coalesce(item ->> 'status', 'pending') in ('pending', 'stored')
        and not item ? 'transcript_status'
$$;

-- Name: message_created_at(uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.message_created_at(message_id uuid) RETURNS timestamp with time zone
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    found_at timestamptz;
begin
    select m.created_at into found_at from public.messages as m
    where m.id = message_created_at.message_id
      and m.created_at >= now() - interval '32 days'
      and m.created_at < now() + interval '1 day';
    if not found then
        select m.created_at into found_at from public.messages as m
        where m.id = message_created_at.message_id;
    end if;
    return found_at;
end;
$$;

-- Name: FUNCTION message_created_at(message_id uuid); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.message_created_at(message_id uuid) IS 'A message''s created_at (its partition of public.messages), looked for in the last 32 days'' partitions first, then in all; null when there is no such message.';

-- Name: message_location(jsonb); Type: FUNCTION; Schema: private

CREATE FUNCTION private.message_location(metadata jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog'
    AS $_$
begin
    -- Nested: the casts run only on text the patterns accepted.
    return case
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
    end;
end
$_$;

-- Name: FUNCTION message_location(metadata jsonb); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.message_location(metadata jsonb) IS 'A message''s shared location (latitude, longitude, address, label) from its metadata, or null.';

-- Name: message_partition_months(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.message_partition_months() RETURNS TABLE(partition_name text, month timestamp without time zone)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $_$
    select c.relname::text, to_date(substr(c.relname, 10), 'YYYY_MM')::timestamp
    from pg_catalog.pg_inherits as i
    join pg_catalog.pg_class as c on c.oid = i.inhrelid
    join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
    where i.inhparent = 'public.messages'::regclass
      and n.nspname = 'partitions'
      and c.relname ~ '^messages_[0-9]{4}_[0-9]{2}$'
    order by 2
$_$;

-- Name: FUNCTION message_partition_months(); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.message_partition_months() IS 'public.messages'' monthly partitions (partitions.messages_YYYY_MM) and their months (UTC), oldest first.';

-- Name: message_status_may_advance(public.message_status, public.message_status); Type: FUNCTION; Schema: private

CREATE FUNCTION private.message_status_may_advance(current public.message_status, next public.message_status) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select case
        when current in ('failed', 'undelivered', 'received') then false
        when next in ('failed', 'undelivered') then current in ('queued', 'sending', 'sent')
        else private.message_status_rank(next) > private.message_status_rank(current)
    end
$$;

-- Name: FUNCTION message_status_may_advance(current public.message_status, next public.message_status); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.message_status_may_advance(current public.message_status, next public.message_status) IS 'Forward only (queued < sending < sent < delivered < read); failed/undelivered are final.';

-- Name: message_status_of_parts(jsonb, integer); Type: FUNCTION; Schema: private

CREATE FUNCTION private.message_status_of_parts(parts jsonb, part_count integer) RETURNS public.message_status
    LANGUAGE plpgsql IMMUTABLE
    AS $$
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

-- Name: message_status_rank(public.message_status); Type: FUNCTION; Schema: private

CREATE FUNCTION private.message_status_rank(status public.message_status) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select case status
        when 'received' then 0
        when 'queued' then 1
        when 'sending' then 2
        when 'sent' then 3
        when 'delivered' then 4
        when 'read' then 5
        when 'undelivered' then 6
        when 'failed' then 6
    end
$$;

-- Name: normalize_contact_tags(text[]); Type: FUNCTION; Schema: private

CREATE FUNCTION private.normalize_contact_tags(tags text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path TO 'pg_catalog'
    AS $$
    select coalesce(array_agg(distinct t order by t), '{}')
    from (
        select lower(regexp_replace(btrim(tag), '\s+', ' ', 'g')) as t
        from unnest(tags) as tag
        where tag is not null
    ) as normalized
    where t <> ''
$$;

-- Name: FUNCTION normalize_contact_tags(tags text[]); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.normalize_contact_tags(tags text[]) IS 'Tags as contacts keep them: trimmed, inner spaces collapsed, lower-case, distinct, sorted.';

-- Name: normalize_email(text, text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.normalize_email(email text, parameter text DEFAULT 'email'::text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog'
    AS $_$
declare
    normalized text := lower(btrim(coalesce(email, '')));
begin
    if char_length(normalized) > 254 or normalized !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' then
        raise exception using
            errcode = 'invalid_parameter_value',
            message = 'not an e-mail address',
            column = parameter;
    end if;
    return normalized;
end;
$_$;

-- Name: FUNCTION normalize_email(email text, parameter text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.normalize_email(email text, parameter text) IS 'Trims and lowercases an e-mail address; 22023 (COLUMN = parameter) when it is not one.';

-- Name: organizations_of_caller(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.organizations_of_caller() RETURNS SETOF uuid
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    return query
    select organization_id from public.memberships where user_id = (select auth.uid())
    union all
    select k.organization_id from public.api_keys as k
    where k.id = (select auth.uid()) and k.revoked_at is null;
end
$$;

-- Name: FUNCTION organizations_of_caller(); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.organizations_of_caller() IS 'The organizations the calling user belongs to, or the calling API key''s while it is not revoked (for policies: organization_id in (select ...)).';

-- Name: organizations_where_caller_is(public.membership_role[]); Type: FUNCTION; Schema: private

CREATE FUNCTION private.organizations_where_caller_is(roles public.membership_role[]) RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    select organization_id from public.memberships
    where user_id = (select auth.uid()) and role = any (roles)
    union all
    select k.organization_id from public.api_keys as k
    where k.id = (select auth.uid()) and k.revoked_at is null and k.role = any (roles)
$$;

-- Name: FUNCTION organizations_where_caller_is(roles public.membership_role[]); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.organizations_where_caller_is(roles public.membership_role[]) IS 'The organizations where the calling user, or the calling API key (not revoked), holds one of these roles.';

-- Name: publish_event(uuid, text, jsonb); Type: FUNCTION; Schema: private

CREATE FUNCTION private.publish_event(organization_id uuid, kind text, payload jsonb DEFAULT '{}'::jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    perform pg_notify(
        'atende_events',
        (jsonb_build_object('organization_id', publish_event.organization_id,
                            'kind', publish_event.kind)
            || coalesce(publish_event.payload, '{}'))::text
    );
end;
$$;

-- Name: FUNCTION publish_event(organization_id uuid, kind text, payload jsonb); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.publish_event(organization_id uuid, kind text, payload jsonb) IS 'Announces a change to the listeners of an organization (LISTEN atende_events).';

-- Name: purge_account_tokens_v1(interval); Type: FUNCTION; Schema: private

CREATE FUNCTION private.purge_account_tokens_v1(keep interval) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    with purged as (
        delete from private.account_tokens as t
        where t.expires_at < now() - keep
        returning 1
    )
    select count(*)::integer from purged
$$;

-- Name: FUNCTION purge_account_tokens_v1(keep interval); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.purge_account_tokens_v1(keep interval) IS 'Deletes tokens expired for longer than keep; returns how many.';

-- Name: purge_rate_limits_v1(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.purge_rate_limits_v1() RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    with purged as (
        delete from private.rate_limit_counters as c where c.expires_at <= now() returning 1
    )
    select count(*)::integer from purged
$$;

-- Name: FUNCTION purge_rate_limits_v1(); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.purge_rate_limits_v1() IS 'Deletes the counters of windows that have ended; returns how many.';

-- Name: purge_sessions_v1(interval); Type: FUNCTION; Schema: private

CREATE FUNCTION private.purge_sessions_v1(keep interval) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    with purged as (
        delete from private.sessions as s
        where coalesce(s.revoked_at, (
                select max(t.expires_at) from private.refresh_tokens as t
                where t.session_id = s.id
            ), s.created_at) < now() - keep
        returning 1
    )
    select count(*)::integer from purged
$$;

-- Name: FUNCTION purge_sessions_v1(keep interval); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.purge_sessions_v1(keep interval) IS 'Deletes sessions dead (revoked or expired) for longer than keep; returns how many.';

-- Name: purge_webhook_attempts_v1(interval, integer); Type: FUNCTION; Schema: private

CREATE FUNCTION private.purge_webhook_attempts_v1(keep interval, batch integer DEFAULT 10000) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    with old as (
        select a.id from public.webhook_delivery_attempts as a
        where a.attempted_at < now() - purge_webhook_attempts_v1.keep
        order by a.attempted_at
        limit purge_webhook_attempts_v1.batch
    ), deleted as (
        delete from public.webhook_delivery_attempts as a
        using old where a.id = old.id
        returning 1
    )
    select count(*)::integer from deleted
$$;

-- Name: FUNCTION purge_webhook_attempts_v1(keep interval, batch integer); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.purge_webhook_attempts_v1(keep interval, batch integer) IS 'Deletes up to batch webhook attempts older than keep; returns how many.';

-- Name: queue_mail_v1(text, text, text, text, text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.queue_mail_v1(recipient text, kind text, subject text, text text, html text) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    mail_id uuid;
begin
    insert into private.mail_outbox (recipient, kind, subject, text, html)
    values (queue_mail_v1.recipient, queue_mail_v1.kind, queue_mail_v1.subject,
            queue_mail_v1.text, queue_mail_v1.html)
    returning id into mail_id;
    perform private.defer_job(
        task_name => 'mail:send_mail',
        args => jsonb_build_object('mail_id', mail_id),
        queue_name => 'mail'
    );
    return mail_id;
end;
$$;

-- Name: FUNCTION queue_mail_v1(recipient text, kind text, subject text, text text, html text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.queue_mail_v1(recipient text, kind text, subject text, text text, html text) IS 'Writes a rendered mail into the outbox and defers mail:send_mail, in one transaction.';

-- Name: queue_media_deletions(jsonb); Type: FUNCTION; Schema: private

CREATE FUNCTION private.queue_media_deletions(gone_media jsonb) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    queued integer;
begin
    -- gone_media: [{organization_id, media}] of deleted messages.
    insert into private.media_deletions (organization_id, storage_key)
    select (g ->> 'organization_id')::uuid, item ->> 'storage_key'
    from jsonb_array_elements(gone_media) as g
    cross join lateral jsonb_array_elements(g -> 'media') as item
    where jsonb_typeof(item) = 'object' and item ->> 'storage_key' is not null;
    get diagnostics queued = row_count;
    if queued > 0 then
        perform private.defer_job(
            task_name => 'conversations:delete_media_files',
            args => '{}'::jsonb,
            queue_name => 'upkeep',
            queueing_lock => 'upkeep:delete_media_files'
        );
    end if;
    return queued;
end;
$$;

-- Name: FUNCTION queue_media_deletions(gone_media jsonb); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.queue_media_deletions(gone_media jsonb) IS 'Queues the stored files of deleted messages for removal from media storage, with the job that removes them.';

-- Name: queue_outbound_message(uuid, public.message_author, text, uuid, boolean, text, text, jsonb); Type: FUNCTION; Schema: private

CREATE FUNCTION private.queue_outbound_message(conversation_id uuid, author public.message_author, body text, author_member_id uuid DEFAULT NULL::uuid, is_error boolean DEFAULT false, error_code text DEFAULT NULL::text, error_message text DEFAULT NULL::text, metadata jsonb DEFAULT '{}'::jsonb) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    the_conversation public.conversations;
    the_contact public.contacts;
    is_template boolean := coalesce(metadata ? 'content_sid', false);
    new_message_id uuid;
    sent_at timestamptz := now();
begin
    select * into strict the_conversation from public.conversations
    where id = conversation_id
    for update;
    select * into strict the_contact from public.contacts where id = the_conversation.contact_id;

    if the_conversation.status = 'closed' then
        raise exception 'the conversation is closed'
            using errcode = 'check_violation', constraint = 'conversation_closed';
    end if;
    if the_contact.opted_out_at is not null then
        raise exception 'the contact opted out of messages'
            using errcode = 'check_violation', constraint = 'contact_opted_out';
    end if;
    -- A WhatsApp conversation the customer never wrote in has no window at all.
    if not is_template
        and (select kind from public.channels where id = the_conversation.channel_id) = 'whatsapp'
        and coalesce(public.window_expires_at(the_conversation), '-infinity') <= sent_at then
        raise exception 'outside the WhatsApp customer-service window'
            using errcode = 'check_violation', constraint = 'outside_customer_service_window';
    end if;

    insert into public.messages (organization_id, conversation_id, direction, author,
                                 author_member_id, body, status, is_error, error_code,
                                 error_message, metadata)
    values (the_conversation.organization_id, the_conversation.id, 'outbound', author,
            author_member_id, coalesce(body, ''), 'queued', is_error, error_code,
            error_message, coalesce(metadata, '{}'))
    returning id into new_message_id;

    update public.conversations set last_message_at = sent_at where id = the_conversation.id;

    perform private.defer_job(
        task_name => 'channels:send_message',
        args => jsonb_build_object('message_id', new_message_id),
        queue_name => 'sends',
        lock => 'send:' || the_conversation.id
    );
    perform private.publish_event(
        the_conversation.organization_id,
        'message.created',
        jsonb_build_object('conversation_id', the_conversation.id, 'message_id', new_message_id)
    );
    return new_message_id;
end;
$$;

-- Name: FUNCTION queue_outbound_message(conversation_id uuid, author public.message_author, body text, author_member_id uuid, is_error boolean, error_code text, error_message text, metadata jsonb); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.queue_outbound_message(conversation_id uuid, author public.message_author, body text, author_member_id uuid, is_error boolean, error_code text, error_message text, metadata jsonb) IS 'Queues an outbound message and its send job, refusing opted-out contacts, closed conversations and WhatsApp free-form text outside the window.';

-- Name: rate_limit_hit_v1(text, text, integer, interval); Type: FUNCTION; Schema: private

CREATE FUNCTION private.rate_limit_hit_v1(action text, key text, max integer, "window" interval) RETURNS TABLE(allowed boolean, retry_after_seconds integer, attempts_in_window integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    seconds double precision := extract(epoch from rate_limit_hit_v1."window");
    started timestamptz;
    counted integer;
begin
    if seconds is null or seconds < 1 or rate_limit_hit_v1.max is null
            or rate_limit_hit_v1.max < 1 then
        raise exception using
            errcode = '22023',
            message = 'max must be positive and window at least one second';
    end if;
    started := to_timestamp(floor(extract(epoch from now()) / seconds) * seconds);
    insert into private.rate_limit_counters as c (action, key, window_start, expires_at, attempts)
    values (rate_limit_hit_v1.action, rate_limit_hit_v1.key, started,
            started + rate_limit_hit_v1."window", 1)
    on conflict on constraint rate_limit_counters_pkey
        do update set attempts = least(c.attempts, 2147483646) + 1
    returning c.attempts into counted;

    return query select
        counted <= rate_limit_hit_v1.max,
        case when counted <= rate_limit_hit_v1.max then 0
             else greatest(1, ceil(extract(epoch from
                 started + rate_limit_hit_v1."window" - now())))::integer
        end,
        counted;
end;
$$;

-- Name: FUNCTION rate_limit_hit_v1(action text, key text, max integer, "window" interval); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.rate_limit_hit_v1(action text, key text, max integer, "window" interval) IS 'Counts an attempt at action by key in the current fixed window: allowed while the window''s attempts stay within max; else seconds until the window ends.';

-- Name: record_ai_fallback_v1(uuid, text, text, timestamp with time zone, text, integer, integer, integer); Type: FUNCTION; Schema: private

CREATE FUNCTION private.record_ai_fallback_v1(conversation_id uuid, error_code text, error_message text, answered_through timestamp with time zone, model text, prompt_tokens integer DEFAULT 0, completion_tokens integer DEFAULT 0, latency_ms integer DEFAULT 0) RETURNS TABLE(run_id uuid, outcome text, message_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION record_ai_fallback_v1(conversation_id uuid, error_code text, error_message text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.record_ai_fallback_v1(conversation_id uuid, error_code text, error_message text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer) IS 'The reply failed for good: fallback message (system, is_error), handoff, run recorded.';

-- Name: record_ai_handoff_v1(uuid, text, text, timestamp with time zone, text, integer, integer, integer); Type: FUNCTION; Schema: private

CREATE FUNCTION private.record_ai_handoff_v1(conversation_id uuid, reason text, model_text text, answered_through timestamp with time zone, model text, prompt_tokens integer DEFAULT 0, completion_tokens integer DEFAULT 0, latency_ms integer DEFAULT 0) RETURNS TABLE(run_id uuid, outcome text, message_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION record_ai_handoff_v1(conversation_id uuid, reason text, model_text text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.record_ai_handoff_v1(conversation_id uuid, reason text, model_text text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer) IS 'The model asked for a person: notice to the customer, conversation handed off, run recorded.';

-- Name: record_ai_handoff_v2(uuid, text, text, timestamp with time zone, text, integer, integer, integer, jsonb); Type: FUNCTION; Schema: private

CREATE FUNCTION private.record_ai_handoff_v2(conversation_id uuid, reason text, model_text text, answered_through timestamp with time zone, model text, prompt_tokens integer DEFAULT 0, completion_tokens integer DEFAULT 0, latency_ms integer DEFAULT 0, knowledge_sources jsonb DEFAULT NULL::jsonb) RETURNS TABLE(run_id uuid, outcome text, message_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_variable
declare
    recorded record;
begin
    select * into recorded from private.record_ai_handoff_v1(
        conversation_id, reason, model_text, answered_through, model, prompt_tokens,
        completion_tokens, latency_ms);
    if recorded.run_id is null then
        return;
    end if;
    if knowledge_sources is not null then
        update public.ai_runs as r set knowledge_sources = knowledge_sources
        where r.id = recorded.run_id;
    end if;
    return query select recorded.run_id, recorded.outcome, recorded.message_id;
end;
$$;

-- Name: FUNCTION record_ai_handoff_v2(conversation_id uuid, reason text, model_text text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer, knowledge_sources jsonb); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.record_ai_handoff_v2(conversation_id uuid, reason text, model_text text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer, knowledge_sources jsonb) IS 'record_ai_handoff_v1, keeping the knowledge passages the model was given on the run.';

-- Name: record_ai_reply_v1(uuid, text, timestamp with time zone, text, integer, integer, integer); Type: FUNCTION; Schema: private

CREATE FUNCTION private.record_ai_reply_v1(conversation_id uuid, body text, answered_through timestamp with time zone, model text, prompt_tokens integer DEFAULT 0, completion_tokens integer DEFAULT 0, latency_ms integer DEFAULT 0) RETURNS TABLE(run_id uuid, outcome text, message_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION record_ai_reply_v1(conversation_id uuid, body text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.record_ai_reply_v1(conversation_id uuid, body text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer) IS 'Queues the model''s reply (author ai) and records the run, unless the conversation changed meanwhile.';

-- Name: record_ai_reply_v2(uuid, text, timestamp with time zone, text, integer, integer, integer, jsonb); Type: FUNCTION; Schema: private

CREATE FUNCTION private.record_ai_reply_v2(conversation_id uuid, body text, answered_through timestamp with time zone, model text, prompt_tokens integer DEFAULT 0, completion_tokens integer DEFAULT 0, latency_ms integer DEFAULT 0, knowledge_sources jsonb DEFAULT NULL::jsonb) RETURNS TABLE(run_id uuid, outcome text, message_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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
                                    completion_tokens, latency_ms, outcome, error,
                                    knowledge_sources)
        values (new_run_id, the_conversation.organization_id, conversation_id, model,
                coalesce(prompt_tokens, 0), coalesce(completion_tokens, 0),
                coalesce(latency_ms, 0), 'skipped',
                'the reply was not sent: ' || blocker, knowledge_sources);
        return query select new_run_id, 'skipped'::text, null::uuid;
        return;
    end if;

    update public.conversations as c
    set ai_answered_through = greatest(c.ai_answered_through, answered_through)
    where c.id = conversation_id;

    insert into public.ai_runs (id, organization_id, conversation_id, message_id, model,
                                prompt_tokens, completion_tokens, latency_ms, outcome,
                                knowledge_sources)
    values (new_run_id, the_conversation.organization_id, conversation_id, new_message_id, model,
            coalesce(prompt_tokens, 0), coalesce(completion_tokens, 0), coalesce(latency_ms, 0),
            'replied', knowledge_sources);
    return query select new_run_id, 'replied'::text, new_message_id;
end;
$$;

-- Name: FUNCTION record_ai_reply_v2(conversation_id uuid, body text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer, knowledge_sources jsonb); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.record_ai_reply_v2(conversation_id uuid, body text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer, knowledge_sources jsonb) IS 'record_ai_reply_v1, keeping the knowledge passages the model was given on the run.';

-- Name: record_ai_retry_v1(uuid, text, text, double precision, integer); Type: FUNCTION; Schema: private

CREATE FUNCTION private.record_ai_retry_v1(conversation_id uuid, model text, error text, retry_in_seconds double precision, latency_ms integer DEFAULT 0) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION record_ai_retry_v1(conversation_id uuid, model text, error text, retry_in_seconds double precision, latency_ms integer); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.record_ai_retry_v1(conversation_id uuid, model text, error text, retry_in_seconds double precision, latency_ms integer) IS 'Records a transient model failure (retrying) and defers the reply job again, together.';

-- Name: record_ai_skip_v1(uuid, text, text, integer, integer, integer); Type: FUNCTION; Schema: private

CREATE FUNCTION private.record_ai_skip_v1(conversation_id uuid, model text, reason text, prompt_tokens integer DEFAULT 0, completion_tokens integer DEFAULT 0, latency_ms integer DEFAULT 0) RETURNS uuid
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION record_ai_skip_v1(conversation_id uuid, model text, reason text, prompt_tokens integer, completion_tokens integer, latency_ms integer); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.record_ai_skip_v1(conversation_id uuid, model text, reason text, prompt_tokens integer, completion_tokens integer, latency_ms integer) IS 'Records that a reply job found a customer message waiting but may not answer it (skipped).';

-- Name: record_api_key_uses_v1(uuid[], timestamp with time zone[], integer[], interval); Type: FUNCTION; Schema: private

CREATE FUNCTION private.record_api_key_uses_v1(api_key_ids uuid[], window_starts timestamp with time zone[], uses integer[], "window" interval) RETURNS TABLE(api_key_id uuid, window_start timestamp with time zone, uses_in_window integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_column
begin
    if record_api_key_uses_v1."window" is null
            or extract(epoch from record_api_key_uses_v1."window") < 1 then
        raise exception using errcode = '22023', message = 'the window is at least one second';
    end if;
    update public.api_keys as k set last_used_at = now()
    where k.id = any (record_api_key_uses_v1.api_key_ids)
      and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute');
    return query
    insert into private.rate_limit_counters as c (action, key, window_start, expires_at, attempts)
    select 'api_key', u.key_id::text, u.started, u.started + record_api_key_uses_v1."window",
           least(sum(u.n), 2147483647)::integer
    from unnest(record_api_key_uses_v1.api_key_ids, record_api_key_uses_v1.window_starts,
                record_api_key_uses_v1.uses) as u (key_id, started, n)
    where u.n > 0
    group by u.key_id, u.started
    on conflict on constraint rate_limit_counters_pkey
        do update set attempts = least(c.attempts::bigint + excluded.attempts, 2147483647)::integer
    returning c.key::uuid, c.window_start, c.attempts;
end;
$$;

-- Name: FUNCTION record_api_key_uses_v1(api_key_ids uuid[], window_starts timestamp with time zone[], uses integer[], "window" interval); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.record_api_key_uses_v1(api_key_ids uuid[], window_starts timestamp with time zone[], uses integer[], "window" interval) IS 'Adds API keys'' uses to their rate-limit windows (returning each window''s total) and moves last_used_at, at most once a minute per key.';

-- Name: record_message_media_v1(uuid, integer, jsonb); Type: FUNCTION; Schema: private

CREATE FUNCTION private.record_message_media_v1(message_id uuid, "position" integer, outcome jsonb) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION record_message_media_v1(message_id uuid, "position" integer, outcome jsonb); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.record_message_media_v1(message_id uuid, "position" integer, outcome jsonb) IS 'Records what became of one file of a message (stored, with its key under the organization, or failed, with a reason the team can read); false when there is no such file.';

-- Name: record_message_status_v1(uuid, text, text, integer, integer, text, text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.record_message_status_v1(message_id uuid, message_sid text, twilio_status text, part_index integer DEFAULT NULL::integer, part_count integer DEFAULT NULL::integer, error_code text DEFAULT NULL::text, error_message text DEFAULT NULL::text) RETURNS TABLE(outcome text, target_message_id uuid, message_status public.message_status)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_column
declare
    the_message public.messages;
    previous public.messages;
    reported public.message_status := private.twilio_message_status(twilio_status);
    parts jsonb;
    part jsonb;
    total integer;
    next_status public.message_status;
    cleared boolean;
    known_id uuid;
    known_at timestamptz;
begin
    if message_id is not null then
        select * into the_message from public.messages as m
        where m.id = record_message_status_v1.message_id
          and m.created_at = private.message_created_at(record_message_status_v1.message_id)
        for update;
    else
        -- Through the sid's judge, which knows the message's created_at: one partition.
        select s.message_id, s.message_created_at into known_id, known_at
        from private.message_sids as s
        where s.message_sid = record_message_status_v1.message_sid;
        select * into the_message from public.messages as m
        where m.id = known_id and m.created_at = known_at
        for update;
        part_index := 0;
    end if;
    if not found or the_message.direction <> 'outbound' or message_sid is null then
        return query select 'unknown', the_message.id, the_message.status;
        return;
    end if;
    previous := the_message;

    parts := coalesce(the_message.metadata -> 'parts', '[]');
    select p.item into part from jsonb_array_elements(parts) as p (item)
    where (p.item ->> 'sid') = message_sid;
    if part is null then
        if part_index is null
            or part_index < 0
            or exists (select from jsonb_array_elements(parts) as p (item)
                       where (p.item ->> 'index')::integer = part_index) then
            -- A sid this message does not know, or a part known by another sid.
            return query select 'unknown', the_message.id, the_message.status;
            return;
        end if;
        part := jsonb_build_object('index', part_index, 'sid', message_sid, 'status', 'sending');
    end if;
    if reported is not null
        and private.message_status_may_advance((part ->> 'status')::public.message_status, reported) then
        part := part || jsonb_build_object('status', reported);
    end if;
    select coalesce(jsonb_agg(p.item order by (p.item ->> 'index')::integer), '[]') into parts
    from (
        select p.item from jsonb_array_elements(parts) as p (item)
        where (p.item ->> 'sid') <> message_sid
        union all
        select part
    ) as p;
    total := greatest(coalesce(part_count, (the_message.metadata ->> 'part_count')::integer, 1),
                      jsonb_array_length(parts));

    next_status := private.message_status_of_parts(parts, total);
    if not private.message_status_may_advance(the_message.status, next_status)
        or (the_message.status = 'queued' and next_status not in ('failed', 'undelivered')) then
        next_status := the_message.status;
    end if;
    -- A message flagged "delivery unknown" that Twilio turns out to have is settled.
    cleared := the_message.error_code = 'delivery_unknown'
        and next_status in ('sent', 'delivered', 'read');

    update public.messages as m
    set metadata = m.metadata
            || jsonb_build_object('parts', parts, 'part_count', total)
            || case when (part ->> 'index')::integer = 0
                    then jsonb_build_object('message_sid', part ->> 'sid') else '{}' end,
        status = next_status,
        is_error = case
            when next_status in ('failed', 'undelivered') then true
            when cleared then false
            else m.is_error end,
        error_code = case
            when next_status in ('failed', 'undelivered') and next_status <> the_message.status
                then coalesce(record_message_status_v1.error_code, next_status::text)
            when cleared then null
            else m.error_code end,
        error_message = case
            when next_status in ('failed', 'undelivered') and next_status <> the_message.status
                then left(coalesce(record_message_status_v1.error_message,
                                   'O Twilio informou que a mensagem não foi entregue.'), 1000)
            when cleared then null
            else m.error_message end
    where m.id = the_message.id and m.created_at = the_message.created_at
    returning * into the_message;

    if the_message.status is distinct from previous.status
        or the_message.is_error is distinct from previous.is_error then
        perform private.announce_message_change(the_message);
        return query select 'updated', the_message.id, the_message.status;
    elsif the_message.metadata is distinct from previous.metadata then
        return query select 'updated', the_message.id, the_message.status;
    else
        return query select 'unchanged', the_message.id, the_message.status;
    end if;
end;
$$;

-- Name: FUNCTION record_message_status_v1(message_id uuid, message_sid text, twilio_status text, part_index integer, part_count integer, error_code text, error_message text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.record_message_status_v1(message_id uuid, message_sid text, twilio_status text, part_index integer, part_count integer, error_code text, error_message text) IS 'Records a part Twilio accepted or reported on, moving the message status forward only.';

-- Name: record_message_transcript_v1(uuid, integer, jsonb); Type: FUNCTION; Schema: private

CREATE FUNCTION private.record_message_transcript_v1(message_id uuid, "position" integer, outcome jsonb) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION record_message_transcript_v1(message_id uuid, "position" integer, outcome jsonb); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.record_message_transcript_v1(message_id uuid, "position" integer, outcome jsonb) IS 'Records a voice note''s transcript (or why there is none, for the team) on its media item and the message''s transcript; false when there is no such item to transcribe.';

-- Name: record_webhook_attempt_v1(uuid, integer, integer, text, timestamp with time zone, interval); Type: FUNCTION; Schema: private

CREATE FUNCTION private.record_webhook_attempt_v1(delivery_id uuid, status_code integer, duration_ms integer, error text, retry_at timestamp with time zone, disable_after interval DEFAULT '3 days'::interval) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    delivered boolean := record_webhook_attempt_v1.error is null
        and record_webhook_attempt_v1.status_code between 200 and 299;
    the_delivery public.webhook_deliveries;
begin
    update public.webhook_deliveries as d
    set attempts = d.attempts + 1,
        last_attempt_at = now(),
        last_status_code = record_webhook_attempt_v1.status_code,
        last_duration_ms = record_webhook_attempt_v1.duration_ms,
        last_error = left(record_webhook_attempt_v1.error, 500),
        status = case when delivered then 'delivered'
                      when record_webhook_attempt_v1.retry_at is null then 'failed'
                      else 'pending' end,
        delivered_at = case when delivered then now() end,
        next_attempt_at = case when delivered then null else record_webhook_attempt_v1.retry_at end
    where d.id = record_webhook_attempt_v1.delivery_id and d.status = 'pending'
    returning * into the_delivery;
    if not found then
        return null;
    end if;

    insert into public.webhook_delivery_attempts (organization_id, delivery_id, attempt,
                                                  status_code, duration_ms, error, attempted_at)
    values (the_delivery.organization_id, the_delivery.id, the_delivery.attempts,
            the_delivery.last_status_code, greatest(the_delivery.last_duration_ms, 0),
            the_delivery.last_error, the_delivery.last_attempt_at);

    if delivered then
        update public.webhook_endpoints as e set failing_since = null
        where e.id = the_delivery.endpoint_id and e.failing_since is not null;
    else
        update public.webhook_endpoints as e
        set failing_since = coalesce(e.failing_since, now())
        where e.id = the_delivery.endpoint_id and e.failing_since is null;
        update public.webhook_endpoints as e
        set enabled = false, disabled_reason = 'failing'
        where e.id = the_delivery.endpoint_id and e.enabled
          and e.failing_since < now() - record_webhook_attempt_v1.disable_after;
    end if;
    return the_delivery.status;
end;
$$;

-- Name: FUNCTION record_webhook_attempt_v1(delivery_id uuid, status_code integer, duration_ms integer, error text, retry_at timestamp with time zone, disable_after interval); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.record_webhook_attempt_v1(delivery_id uuid, status_code integer, duration_ms integer, error text, retry_at timestamp with time zone, disable_after interval) IS 'Records one delivery attempt (delivered on a 2xx; else pending until retry_at, or failed) and its row in webhook_delivery_attempts; disables an endpoint failing for longer than disable_after.';

-- Name: record_webhook_event(uuid, text, jsonb); Type: FUNCTION; Schema: private

CREATE FUNCTION private.record_webhook_event(organization_id uuid, event_type text, data jsonb) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    delivery record;
    recorded integer := 0;
begin
    if not exists (
        select from public.webhook_endpoints as e
        where e.organization_id = record_webhook_event.organization_id and e.enabled
    ) then
        return 0;
    end if;
    for delivery in
        insert into public.webhook_deliveries as d (organization_id, endpoint_id, event_type,
                                                   payload)
        select e.organization_id, e.id, record_webhook_event.event_type,
               jsonb_build_object(
                   'type', record_webhook_event.event_type,
                   'timestamp', to_char(now() at time zone 'UTC',
                                        'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                   'data', record_webhook_event.data
               )
        from public.webhook_endpoints as e
        where e.organization_id = record_webhook_event.organization_id and e.enabled
          and record_webhook_event.event_type = any (e.events)
        returning d.id, d.endpoint_id
    loop
        perform private.defer_job('webhooks:deliver_webhook',
                                  jsonb_build_object('delivery_id', delivery.id,
                                                     'endpoint_id', delivery.endpoint_id),
                                  'webhooks');
        recorded := recorded + 1;
    end loop;
    return recorded;
end;
$$;

-- Name: FUNCTION record_webhook_event(organization_id uuid, event_type text, data jsonb); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.record_webhook_event(organization_id uuid, event_type text, data jsonb) IS 'Records an event for every endpoint of the organization subscribed to it, with its delivery job, in the current transaction; returns how many.';

-- Name: refresh_session_v1(text, text, interval); Type: FUNCTION; Schema: private

CREATE FUNCTION private.refresh_session_v1(refresh_token_hash text, new_refresh_token_hash text, ttl interval) RETURNS TABLE(outcome text, session_id uuid, user_id uuid, email text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    token private.refresh_tokens;
    session private.sessions;
    user_email text;
begin
    select * into token from private.refresh_tokens as t
    where t.token_hash = refresh_session_v1.refresh_token_hash
    for update;
    if not found then
        return query select 'invalid', null::uuid, null::uuid, null::text;
        return;
    end if;

    select * into session from private.sessions as s where s.id = token.session_id for update;
    if session.revoked_at is not null then
        return query select 'invalid', session.id, session.user_id, null::text;
        return;
    end if;

    if token.rotated_at is not null then
        update private.sessions as s
        set revoked_at = now(), revoked_reason = 'refresh_token_reuse'
        where s.id = session.id;
        return query select 'reused', session.id, session.user_id, null::text;
        return;
    end if;

    select u.email into user_email from auth.users as u
    where u.id = session.user_id
      and u.deleted_at is null
      and (u.banned_until is null or u.banned_until <= now());
    if token.expires_at <= now() or user_email is null then
        return query select 'invalid', session.id, session.user_id, null::text;
        return;
    end if;

    update private.refresh_tokens as t set rotated_at = now()
    where t.token_hash = token.token_hash;
    insert into private.refresh_tokens (token_hash, session_id, expires_at)
    values (new_refresh_token_hash, session.id, now() + ttl);
    update private.sessions as s set refreshed_at = now() where s.id = session.id;

    return query select 'refreshed', session.id, session.user_id, user_email;
end;
$$;

-- Name: FUNCTION refresh_session_v1(refresh_token_hash text, new_refresh_token_hash text, ttl interval); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.refresh_session_v1(refresh_token_hash text, new_refresh_token_hash text, ttl interval) IS 'Rotates a refresh token: refreshed, invalid, or reused (which revokes the session).';

-- Name: organizations; Type: TABLE; Schema: public

CREATE TABLE public.organizations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    message_retention_days integer,
    CONSTRAINT organizations_message_retention_days CHECK (((message_retention_days >= 30) AND (message_retention_days <= 3650))),
    CONSTRAINT organizations_name_length CHECK (((char_length(btrim(name)) >= 1) AND (char_length(btrim(name)) <= 120)))
);

-- Name: TABLE organizations; Type: COMMENT; Schema: public

COMMENT ON TABLE public.organizations IS 'A business using Atende: the tenant every row belongs to.';

-- Name: COLUMN organizations.message_retention_days; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.organizations.message_retention_days IS 'How many days messages are kept (null: forever); older ones are deleted by the upkeep (private.delete_expired_messages_v1). Owners set it (set_message_retention_v1).';

-- Name: register_organization_v1(uuid, text, text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.register_organization_v1(user_id uuid, organization_name text, full_name text) RETURNS public.organizations
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    pending private.pending_users;
    organization public.organizations;
begin
    select * into pending from private.pending_users as p
    where p.user_id = register_organization_v1.user_id
      and p.purpose = 'registration'
      and p.abandoned_at is null
    for update;
    if not found then
        raise sqlstate 'PT404' using message = 'no registration is pending for this user';
    end if;

    insert into public.profiles (id, email, full_name)
    values (
        pending.user_id,
        pending.email,
        private.require_text(register_organization_v1.full_name, 'full_name', 200)
    );

    insert into public.organizations (name)
    values (
        private.require_text(register_organization_v1.organization_name, 'organization_name', 120)
    )
    returning * into organization;

    insert into public.memberships (organization_id, user_id, role)
    values (organization.id, pending.user_id, 'owner');

    delete from private.pending_users as p where p.user_id = pending.user_id;
    return organization;
end;
$$;

-- Name: FUNCTION register_organization_v1(user_id uuid, organization_name text, full_name text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.register_organization_v1(user_id uuid, organization_name text, full_name text) IS 'Creates the profile, the organization and its owner membership for a reserved user.';

-- Name: reindex_knowledge_v1(text, boolean); Type: FUNCTION; Schema: private

CREATE FUNCTION private.reindex_knowledge_v1(embedder text, include_current boolean DEFAULT false) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_variable
declare
    queued integer := 0;
    the_id uuid;
begin
    for the_id in
        update public.knowledge_documents as d
        set status = 'pending', error = null, revision = d.revision + 1
        where include_current or d.embedder is distinct from embedder or d.status = 'failed'
        returning d.id
    loop
        perform private.defer_knowledge_indexing(the_id);
        queued := queued + 1;
    end loop;
    return queued;
end;
$$;

-- Name: FUNCTION reindex_knowledge_v1(embedder text, include_current boolean); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.reindex_knowledge_v1(embedder text, include_current boolean) IS 'Re-indexes documents whose passages another embedder made (or failed ones; all with include_current).';

-- Name: release_pending_user_v1(uuid, boolean); Type: FUNCTION; Schema: private

CREATE FUNCTION private.release_pending_user_v1(user_id uuid, abandon boolean DEFAULT false) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    if abandon then
        update private.pending_users as p set abandoned_at = coalesce(p.abandoned_at, now())
        where p.user_id = release_pending_user_v1.user_id;
    else
        delete from private.pending_users as p where p.user_id = release_pending_user_v1.user_id;
    end if;
    return found;
end;
$$;

-- Name: FUNCTION release_pending_user_v1(user_id uuid, abandon boolean); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.release_pending_user_v1(user_id uuid, abandon boolean) IS 'Forgets a reservation once its user is gone; with abandon, frees the e-mail but keeps the record for the upkeep job to delete the user once more.';

-- Name: template_variables_are_valid(jsonb); Type: FUNCTION; Schema: private

CREATE FUNCTION private.template_variables_are_valid(variables jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog'
    AS $_$
    select jsonb_typeof(variables) = 'array'
        and jsonb_array_length(variables) <= 50
        and not exists (
            select from jsonb_array_elements(variables) as v (item)
            where jsonb_typeof(v.item) <> 'object'
               or coalesce(v.item ->> 'key', '') !~ '^[A-Za-z0-9_]{1,64}$'
               or char_length(coalesce(v.item ->> 'name', '')) not between 1 and 100
        )
        and (select count(distinct v.item ->> 'key') from jsonb_array_elements(variables) as v (item))
            = jsonb_array_length(variables)
$_$;

-- Name: FUNCTION template_variables_are_valid(variables jsonb); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.template_variables_are_valid(variables jsonb) IS 'A template''s variables: an array of {key, name} objects, keys unique and ContentVariables-shaped.';

-- Name: channel_templates; Type: TABLE; Schema: public

CREATE TABLE public.channel_templates (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    channel_id uuid NOT NULL,
    name text NOT NULL,
    content_sid text NOT NULL,
    language text DEFAULT 'pt_BR'::text NOT NULL,
    variables jsonb DEFAULT '[]'::jsonb NOT NULL,
    body text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT channel_templates_body_length CHECK ((char_length(body) <= 1600)),
    CONSTRAINT channel_templates_content_sid_format CHECK ((content_sid ~ '^HX[0-9a-fA-F]{32}$'::text)),
    CONSTRAINT channel_templates_language_format CHECK ((language ~ '^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$'::text)),
    CONSTRAINT channel_templates_name_length CHECK (((char_length(btrim(name)) >= 1) AND (char_length(btrim(name)) <= 100))),
    CONSTRAINT channel_templates_variables_valid CHECK (private.template_variables_are_valid(variables))
);

-- Name: TABLE channel_templates; Type: COMMENT; Schema: public

COMMENT ON TABLE public.channel_templates IS 'Approved WhatsApp templates (ContentSid) a channel may send, also outside the 24-hour window.';

-- Name: render_template_message(public.channel_templates, jsonb); Type: FUNCTION; Schema: private

CREATE FUNCTION private.render_template_message(the_template public.channel_templates, variables jsonb) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog'
    AS $$
declare
    given jsonb := coalesce(variables, '{}');
    expected text[];
    missing text;
    preview text;
    variable record;
begin
    if jsonb_typeof(given) <> 'object' then
        raise exception 'variables must be an object'
            using errcode = 'check_violation', constraint = 'template_variables_invalid';
    end if;
    expected := array(
        select v.item ->> 'key' from jsonb_array_elements(the_template.variables) as v (item)
    );
    select key into missing from unnest(expected) as key
    where char_length(btrim(coalesce(given ->> key, ''))) = 0
    limit 1;
    if missing is not null then
        raise exception 'the variable % needs a value', missing
            using errcode = 'check_violation', constraint = 'template_variables_invalid';
    end if;
    select key into missing from jsonb_object_keys(given) as key
    where key <> all (expected)
    limit 1;
    if missing is not null then
        raise exception 'the template has no variable %', missing
            using errcode = 'check_violation', constraint = 'template_variables_invalid';
    end if;
    if exists (
        select from jsonb_each(given) as g
        where jsonb_typeof(g.value) <> 'string' or char_length(g.value #>> '{}') > 1000
    ) then
        raise exception 'variable values are texts of up to 1000 characters'
            using errcode = 'check_violation', constraint = 'template_variables_invalid';
    end if;

    preview := coalesce(the_template.body, '');
    for variable in select * from jsonb_each_text(given) loop
        preview := replace(preview, '{{' || variable.key || '}}', variable.value);
    end loop;
    return left(preview, 10000);
end;
$$;

-- Name: FUNCTION render_template_message(the_template public.channel_templates, variables jsonb); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.render_template_message(the_template public.channel_templates, variables jsonb) IS 'A template''s text with the values, after checking them as sendTemplate does (template_variables_invalid otherwise).';

-- Name: requeue_outbound_message_v1(uuid, text, text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.requeue_outbound_message_v1(message_id uuid, error_code text, error_message text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION requeue_outbound_message_v1(message_id uuid, error_code text, error_message text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.requeue_outbound_message_v1(message_id uuid, error_code text, error_message text) IS 'A send that Twilio certainly did not take goes back to queued for the job''s retry.';

-- Name: require_text(text, text, integer); Type: FUNCTION; Schema: private

CREATE FUNCTION private.require_text(value text, parameter text, max_length integer) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog'
    AS $$
declare
    trimmed text := btrim(coalesce(value, ''));
begin
    if trimmed = '' then
        raise exception using
            errcode = 'invalid_parameter_value', message = 'must not be empty', column = parameter;
    end if;
    if char_length(trimmed) > max_length then
        raise exception using
            errcode = 'invalid_parameter_value',
            message = format('must be at most %s characters', max_length),
            column = parameter;
    end if;
    return trimmed;
end;
$$;

-- Name: rescue_unanswered_conversations_v1(interval, integer); Type: FUNCTION; Schema: private

CREATE FUNCTION private.rescue_unanswered_conversations_v1(grace interval DEFAULT '00:02:00'::interval, batch_size integer DEFAULT 500) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION rescue_unanswered_conversations_v1(grace interval, batch_size integer); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.rescue_unanswered_conversations_v1(grace interval, batch_size integer) IS 'Defers a reply job for conversations whose customer waits for the AI with no reply job queued or running.';

-- Name: reserve_user_v1(text, text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.reserve_user_v1(email text, purpose text) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    normalized text := private.normalize_email(email);
    reserved uuid;
begin
    if exists (select from public.profiles as p where lower(p.email) = normalized) then
        raise exception using
            errcode = 'unique_violation',
            message = 'e-mail already registered',
            constraint = 'profiles_email_key';
    end if;
    -- A concurrent reservation of the same e-mail fails on pending_users_email_key.
    insert into private.pending_users (email, purpose)
    values (normalized, reserve_user_v1.purpose)
    returning user_id into reserved;
    return reserved;
end;
$$;

-- Name: FUNCTION reserve_user_v1(email text, purpose text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.reserve_user_v1(email text, purpose text) IS 'Claims an e-mail for a user about to be created in the identity provider; returns its id.';

-- Name: invitations; Type: TABLE; Schema: public

CREATE TABLE public.invitations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    email text NOT NULL,
    role public.membership_role NOT NULL,
    invited_by uuid,
    token_hash text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    sent_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    accepted_at timestamp with time zone,
    accepted_by uuid,
    revoked_at timestamp with time zone,
    CONSTRAINT invitations_closed_once CHECK (((accepted_at IS NULL) OR (revoked_at IS NULL))),
    CONSTRAINT invitations_email_lowercase CHECK ((email = lower(email))),
    CONSTRAINT invitations_token_hash_format CHECK ((token_hash ~ '^[0-9a-f]{64}$'::text))
);

-- Name: TABLE invitations; Type: COMMENT; Schema: public

COMMENT ON TABLE public.invitations IS 'An e-mail invited into an organization with a role; a membership once accepted.';

-- Name: COLUMN invitations.token_hash; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.invitations.token_hash IS 'encode(sha256(token), ''hex'') of the token mailed to the address; never stored itself.';

-- Name: revoke_invitation_v1(uuid, uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.revoke_invitation_v1(actor uuid, invitation_id uuid) RETURNS public.invitations
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    target public.invitations;
    actor_role public.membership_role;
begin
    select * into target from public.invitations as i
    where i.id = revoke_invitation_v1.invitation_id
    for update;
    actor_role := private.role_in(target.organization_id, actor);
    if target.id is null or actor_role is null or actor_role = 'agent' then
        raise sqlstate 'PT404' using message = 'invitation not found';
    end if;
    if target.role = 'owner' and actor_role <> 'owner' then
        raise sqlstate 'PT403' using message = 'only an owner can revoke an owner''s invitation';
    end if;
    if target.accepted_at is not null or target.revoked_at is not null then
        raise sqlstate 'PT404' using message = 'invitation not found';
    end if;
    update public.invitations as i set revoked_at = now()
    where i.id = target.id
    returning * into target;
    return target;
end;
$$;

-- Name: FUNCTION revoke_invitation_v1(actor uuid, invitation_id uuid); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.revoke_invitation_v1(actor uuid, invitation_id uuid) IS 'Revokes an open invitation under the role rules; PT404 when there is none to revoke.';

-- Name: revoke_session_by_refresh_token_v1(text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.revoke_session_by_refresh_token_v1(refresh_token_hash text) RETURNS boolean
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    select private.revoke_session_v1(t.session_id)
    from private.refresh_tokens as t
    where t.token_hash = revoke_session_by_refresh_token_v1.refresh_token_hash
$$;

-- Name: FUNCTION revoke_session_by_refresh_token_v1(refresh_token_hash text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.revoke_session_by_refresh_token_v1(refresh_token_hash text) IS 'Signs out the session a refresh token (current or rotated) belongs to.';

-- Name: revoke_session_v1(uuid, uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.revoke_session_v1(session_id uuid, user_id uuid DEFAULT NULL::uuid) RETURNS boolean
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    with revoked as (
        update private.sessions as s
        set revoked_at = now(), revoked_reason = 'sign_out'
        where s.id = revoke_session_v1.session_id
          and (revoke_session_v1.user_id is null or s.user_id = revoke_session_v1.user_id)
          and s.revoked_at is null
        returning 1
    )
    select exists (select from revoked)
$$;

-- Name: FUNCTION revoke_session_v1(session_id uuid, user_id uuid); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.revoke_session_v1(session_id uuid, user_id uuid) IS 'Signs a session out (only one of user_id''s, when given); true if it was active.';

-- Name: role_in(uuid, uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.role_in(organization uuid, actor uuid) RETURNS public.membership_role
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    select role from public.memberships
    where organization_id = organization and user_id = actor
$$;

-- Name: send_due_follow_ups_v1(integer); Type: FUNCTION; Schema: private

CREATE FUNCTION private.send_due_follow_ups_v1(batch_size integer DEFAULT 500) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    sent_count integer := 0;
    due record;
    chosen public.channel_templates;
    skip_reason text;
begin
    for due in
        select c.id, c.channel_id, a.follow_up_message, a.follow_up_template_id,
               (ch.kind <> 'whatsapp' or public.window_expires_at(c) > now()) as in_window
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
          and (c.follow_up_skipped_at is null or c.follow_up_skipped_at < c.last_inbound_at)
          and c.ai_enabled
          and a.ai_enabled
          and a.follow_up_message is not null
          and c.last_message_at <= now() - make_interval(mins => a.follow_up_after_minutes)
          and c.last_inbound_at is not null
          and ct.opted_out_at is null
          and last_message.direction = 'outbound'
          and last_message.author in ('ai', 'member')
          and not last_message.is_error
          and last_message.created_at <= now() - make_interval(mins => a.follow_up_after_minutes)
        order by c.last_message_at
        limit batch_size
        for update of c skip locked
    loop
        skip_reason := null;
        begin
            if due.in_window then
                perform private.queue_outbound_message(
                    conversation_id => due.id,
                    author => 'ai',
                    body => due.follow_up_message,
                    metadata => jsonb_build_object('kind', 'follow_up')
                );
            elsif due.follow_up_template_id is null then
                skip_reason := 'no_follow_up_template';
            else
                select t.* into chosen
                from public.channel_templates as agent_template
                join public.channel_templates as t
                  on t.channel_id = due.channel_id
                 and t.content_sid = agent_template.content_sid
                 and t.language = agent_template.language
                where agent_template.id = due.follow_up_template_id
                order by t.id = agent_template.id desc, t.created_at, t.id
                limit 1;
                if chosen.id is null then
                    skip_reason := 'follow_up_template_not_on_channel';
                elsif jsonb_array_length(chosen.variables) > 0 then
                    skip_reason := 'follow_up_template_has_variables';
                else
                    perform private.queue_outbound_message(
                        conversation_id => due.id,
                        author => 'ai',
                        body => left(coalesce(chosen.body, ''), 10000),
                        metadata => jsonb_build_object(
                            'kind', 'follow_up',
                            'content_sid', chosen.content_sid,
                            'content_variables', '{}'::jsonb,
                            'template_id', chosen.id,
                            'template_name', chosen.name
                        )
                    );
                end if;
            end if;
            if skip_reason is null then
                update public.conversations set follow_up_sent_at = now() where id = due.id;
                sent_count := sent_count + 1;
            else
                update public.conversations
                set follow_up_skipped_at = now(), follow_up_skip_reason = skip_reason
                where id = due.id;
            end if;
        exception when check_violation then
            -- Refused by a rule that changed since the scan (opted out, closed, window):
            -- the next scan no longer selects it.
            null;
        end;
    end loop;
    return sent_count;
end;
$$;

-- Name: FUNCTION send_due_follow_ups_v1(batch_size integer); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.send_due_follow_ups_v1(batch_size integer) IS 'Queues the agent''s follow-up, once, to up to batch_size customers who went quiet: the message inside the window, the agent''s follow-up template outside it, else records on the conversation why it was skipped.';

-- Name: send_scheduled_message_v1(uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.send_scheduled_message_v1(scheduled_message_id uuid) RETURNS TABLE(status public.scheduled_message_status, reason text, message_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_column
declare
    the_row public.scheduled_messages;
    the_conversation public.conversations;
    the_template public.channel_templates;
    text_body text;
    extra jsonb;
    refusal text;
    new_message_id uuid;
begin
    -- The claim: only the holder of this lock that finds the row still scheduled sends.
    select * into the_row from public.scheduled_messages as s
    where s.id = send_scheduled_message_v1.scheduled_message_id
    for update;
    if not found or the_row.status <> 'scheduled' then
        return query select the_row.status, the_row.reason, the_row.message_id;
        return;
    end if;

    select * into strict the_conversation from public.conversations as c
    where c.id = the_row.conversation_id;
    if not (select ch.enabled from public.channels as ch where ch.id = the_conversation.channel_id)
    then
        refusal := 'channel_disabled';
    end if;

    if refusal is null and the_row.template_name is not null then
        select * into the_template from public.channel_templates as t
        where t.id = the_row.template_id and t.channel_id = the_conversation.channel_id;
        if not found then
            update public.scheduled_messages as s
            set status = 'failed', reason = 'template_not_found', processed_at = now()
            where s.id = the_row.id;
            return query select 'failed'::public.scheduled_message_status,
                                'template_not_found'::text, null::uuid;
            return;
        end if;
        begin
            text_body := private.render_template_message(the_template, the_row.variables);
        exception when check_violation then
            update public.scheduled_messages as s
            set status = 'failed', reason = 'template_variables_invalid', processed_at = now()
            where s.id = the_row.id;
            return query select 'failed'::public.scheduled_message_status,
                                'template_variables_invalid'::text, null::uuid;
            return;
        end;
        extra := jsonb_build_object(
            'content_sid', the_template.content_sid,
            'content_variables', the_row.variables,
            'template_id', the_template.id,
            'template_name', the_template.name
        );
    elsif refusal is null then
        text_body := the_row.body;
        extra := '{}';
    end if;

    -- A conversation closed since (by the team, or for inactivity) opens again for it,
    -- as reopenConversation would; unless the customer has a newer one on this number.
    if refusal is null and the_conversation.status = 'closed' then
        begin
            update public.conversations as c
            set status = 'open', closed_at = null
            where c.id = the_conversation.id;
        exception when unique_violation then
            refusal := 'conversation_closed';
        end;
    end if;

    if refusal is null then
        begin
            -- The opt-out, closed-conversation and window rules are queue_outbound_message's.
            new_message_id := private.queue_outbound_message(
                conversation_id => the_conversation.id,
                author => 'member',
                body => text_body,
                author_member_id => the_row.created_by,
                metadata => extra
                    || jsonb_build_object('scheduled_message_id', the_row.id)
                    || case when the_row.created_by_api_key is null then '{}'::jsonb
                            else jsonb_build_object('api_key_id', the_row.created_by_api_key)
                       end
            );
        exception when check_violation then
            get stacked diagnostics refusal = constraint_name;
            if refusal not in ('conversation_closed', 'contact_opted_out',
                               'outside_customer_service_window') then
                raise;
            end if;
        end;
    end if;

    if refusal is not null then
        update public.scheduled_messages as s
        set status = 'skipped', reason = refusal, processed_at = now()
        where s.id = the_row.id;
        return query select 'skipped'::public.scheduled_message_status, refusal, null::uuid;
        return;
    end if;

    update public.scheduled_messages as s
    set status = 'sent', message_id = new_message_id, processed_at = now()
    where s.id = the_row.id;
    return query select 'sent'::public.scheduled_message_status, null::text, new_message_id;
end;
$$;

-- Name: FUNCTION send_scheduled_message_v1(scheduled_message_id uuid); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.send_scheduled_message_v1(scheduled_message_id uuid) IS 'The job''s work: sends a scheduled message once (the row''s lock and status are the claim), skipping it with the reason when a rule forbids it now.';

-- Name: start_ai_reply_v1(uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.start_ai_reply_v1(conversation_id uuid) RETURNS TABLE(outcome text, run_id uuid, model text, system_prompt text, temperature double precision, history_messages integer, history_tokens integer, consecutive_retries integer, answered_through timestamp with time zone, history jsonb)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION start_ai_reply_v1(conversation_id uuid); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.start_ai_reply_v1(conversation_id uuid) IS 'The reply job''s first step: nothing to answer, a skip (recorded), or the prompt and history to answer with.';

-- Name: start_ai_reply_v2(uuid); Type: FUNCTION; Schema: private

CREATE FUNCTION private.start_ai_reply_v2(conversation_id uuid) RETURNS TABLE(outcome text, run_id uuid, model text, system_prompt text, temperature double precision, history_messages integer, history_tokens integer, consecutive_retries integer, answered_through timestamp with time zone, history jsonb, organization_id uuid, knowledge_enabled boolean, knowledge_passages integer, answer_only_from_knowledge boolean)
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    select s.outcome, s.run_id, s.model, s.system_prompt, s.temperature, s.history_messages,
           s.history_tokens, s.consecutive_retries, s.answered_through, s.history,
           a.organization_id,
           a.knowledge_enabled and exists (
               select from public.knowledge_passages as p
               where p.organization_id = a.organization_id
           ),
           a.knowledge_passages, a.answer_only_from_knowledge
    from private.start_ai_reply_v1(start_ai_reply_v2.conversation_id) as s
    left join public.conversations as c on c.id = start_ai_reply_v2.conversation_id
    left join public.agents as a on a.organization_id = c.organization_id
$$;

-- Name: FUNCTION start_ai_reply_v2(conversation_id uuid); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.start_ai_reply_v2(conversation_id uuid) IS 'start_ai_reply_v1 with the organization and the agent''s knowledge settings.';

-- Name: start_ai_reply_v3(uuid, double precision); Type: FUNCTION; Schema: private

CREATE FUNCTION private.start_ai_reply_v3(conversation_id uuid, media_wait_seconds double precision) RETURNS TABLE(outcome text, run_id uuid, model text, system_prompt text, temperature double precision, history_messages integer, history_tokens integer, consecutive_retries integer, answered_through timestamp with time zone, history jsonb, organization_id uuid, knowledge_enabled boolean, knowledge_passages integer, answer_only_from_knowledge boolean, vision_enabled boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION start_ai_reply_v3(conversation_id uuid, media_wait_seconds double precision); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.start_ai_reply_v3(conversation_id uuid, media_wait_seconds double precision) IS 'The reply job''s first step: nothing to answer, debounced, a skip (recorded), waiting for the files it needs (voice notes transcribed, images fetched; bounded), or the prompt, settings and history (with locations) to answer with.';

-- Name: start_session_v1(uuid, text, interval); Type: FUNCTION; Schema: private

CREATE FUNCTION private.start_session_v1(user_id uuid, refresh_token_hash text, ttl interval) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    session_id uuid;
begin
    insert into private.sessions (user_id) values (start_session_v1.user_id)
    returning id into session_id;
    insert into private.refresh_tokens (token_hash, session_id, expires_at)
    values (refresh_token_hash, session_id, now() + ttl);
    return session_id;
end;
$$;

-- Name: FUNCTION start_session_v1(user_id uuid, refresh_token_hash text, ttl interval); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.start_session_v1(user_id uuid, refresh_token_hash text, ttl interval) IS 'Opens a session for a user whose credentials were just checked; returns its id.';

-- Name: store_knowledge_passages_v1(uuid, integer, text, jsonb); Type: FUNCTION; Schema: private

CREATE FUNCTION private.store_knowledge_passages_v1(document_id uuid, revision integer, embedder text, passages jsonb) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_variable
declare
    the_document public.knowledge_documents;
    stored integer;
begin
    select * into the_document from public.knowledge_documents as d
    where d.id = document_id
    for update;
    if not found then
        return 'gone';
    end if;
    if the_document.revision <> revision then
        return 'stale';
    end if;
    -- The old passages and the new in one transaction: searches see one or the other.
    delete from public.knowledge_passages as p where p.document_id = document_id;
    insert into public.knowledge_passages
        (organization_id, document_id, position, heading, content, embedder, dimensions,
         embedding)
    select the_document.organization_id, document_id, (p ->> 'position')::integer,
           coalesce(p ->> 'heading', ''), p ->> 'content', embedder,
           jsonb_array_length(p -> 'embedding'), (p ->> 'embedding')::extensions.vector
    from jsonb_array_elements(passages) as p;
    get diagnostics stored = row_count;
    update public.knowledge_documents as d
    set status = 'ready', error = null, chunk_count = stored, embedder = embedder,
        indexed_at = now()
    where d.id = document_id;
    return 'stored';
end;
$$;

-- Name: FUNCTION store_knowledge_passages_v1(document_id uuid, revision integer, embedder text, passages jsonb); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.store_knowledge_passages_v1(document_id uuid, revision integer, embedder text, passages jsonb) IS 'Replaces a document''s passages and marks it ready, unless it changed since the job read it (stale).';

-- Name: subscription_intent(text, text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.subscription_intent(body text, opt_out_type text DEFAULT NULL::text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select case
        when nullif(btrim(opt_out_type), '') is not null then
            case upper(btrim(opt_out_type))
                when 'STOP' then 'opt_out'
                when 'START' then 'opt_in'
            end
        when private.subscription_keyword(body) in (
            'STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT',
            'PARAR', 'SAIR', 'CANCELAR', 'DESCADASTRAR'
        ) then 'opt_out'
        when private.subscription_keyword(body) in (
            'START', 'UNSTOP', 'YES', 'VOLTAR', 'INICIAR'
        ) then 'opt_in'
    end
$$;

-- Name: FUNCTION subscription_intent(body text, opt_out_type text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.subscription_intent(body text, opt_out_type text) IS 'opt_out / opt_in / null for a customer message: Twilio''s OptOutType when given, else the message alone being a keyword (STOP, PARAR, SAIR, CANCELAR, DESCADASTRAR, ... / START, VOLTAR, INICIAR, ...).';

-- Name: subscription_keyword(text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.subscription_keyword(body text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select case when length(body) <= 64 then
        upper(btrim(
            regexp_replace(normalize(body, NFD), '[\u0300-\u036f]', '', 'g'),
            E' \t\r\n\u00a0.!?'
        ))
    end
$$;

-- Name: FUNCTION subscription_keyword(body text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.subscription_keyword(body text) IS 'A customer message folded for keyword matching: no accents, upper case, trimmed of white space and punctuation.';

-- Name: tg__set_updated_at(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg__set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $$
begin
    new.updated_at := now();
    return new;
end;
$$;

-- Name: FUNCTION tg__set_updated_at(); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.tg__set_updated_at() IS 'Keeps updated_at current on every update.';

-- Name: tg_agents__follow_up_template_without_variables(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_agents__follow_up_template_without_variables() RETURNS trigger
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    if exists (
        select from public.channel_templates as t
        where t.id = new.follow_up_template_id and jsonb_array_length(t.variables) > 0
    ) then
        raise exception 'a follow-up template cannot have variables'
            using errcode = 'check_violation',
                  constraint = 'agents_follow_up_template_without_variables';
    end if;
    return new;
end;
$$;

-- Name: tg_ai_runs__count_usage(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_ai_runs__count_usage() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    insert into public.usage_counters (organization_id, hour, tokens_in, tokens_out)
    values (new.organization_id, private.usage_hour(new.created_at),
            new.prompt_tokens - case when tg_op = 'UPDATE' then old.prompt_tokens else 0 end,
            new.completion_tokens
                - case when tg_op = 'UPDATE' then old.completion_tokens else 0 end);
    return null;
end;
$$;

-- Name: FUNCTION tg_ai_runs__count_usage(); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.tg_ai_runs__count_usage() IS 'Counts an AI run''s tokens (or a change of them) in public.usage_counters.';

-- Name: tg_contacts__webhook_events(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_contacts__webhook_events() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    if tg_op = 'INSERT' then
        if new.opted_out_at is not null then
            perform private.record_webhook_event(new.organization_id, 'contact.opted_out',
                                                 private.webhook_contact_data(new));
        end if;
    elsif new.opted_out_at is not null and old.opted_out_at is null then
        perform private.record_webhook_event(new.organization_id, 'contact.opted_out',
                                             private.webhook_contact_data(new));
    elsif new.opted_out_at is null and old.opted_out_at is not null then
        perform private.record_webhook_event(new.organization_id, 'contact.opted_in',
                                             private.webhook_contact_data(new));
    end if;
    return null;
end;
$$;

-- Name: tg_conversation_reads__set_organization(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_conversation_reads__set_organization() RETURNS trigger
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    new.organization_id := (
        select organization_id from public.conversations where id = new.conversation_id
    );
    return new;
end;
$$;

-- Name: tg_conversations__assignee_is_member(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_conversations__assignee_is_member() RETURNS trigger
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    if new.assignee_id is not null and not exists (
        select from public.memberships
        where organization_id = new.organization_id and user_id = new.assignee_id
    ) then
        raise exception 'the assignee must be a member of the organization'
            using errcode = 'foreign_key_violation', constraint = 'conversations_assignee_is_member';
    end if;
    return new;
end;
$$;

-- Name: tg_conversations__publish_changes(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_conversations__publish_changes() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    payload jsonb := jsonb_build_object('conversation_id', new.id);
begin
    if new.status is distinct from old.status then
        perform private.publish_event(
            new.organization_id,
            case when new.status = 'handoff' then 'conversation.handed_off'
                 else 'conversation.status_changed' end,
            payload
        );
    end if;
    if new.assignee_id is distinct from old.assignee_id then
        perform private.publish_event(new.organization_id, 'conversation.assigned', payload);
    end if;
    if new.ai_enabled is distinct from old.ai_enabled then
        perform private.publish_event(new.organization_id, 'conversation.ai_changed', payload);
    end if;
    return null;
end;
$$;

-- Name: tg_conversations__webhook_events(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_conversations__webhook_events() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    if new.status is distinct from old.status then
        if new.status = 'handoff' then
            perform private.record_webhook_event(new.organization_id, 'conversation.handed_off',
                                                 private.webhook_conversation_data(new));
        elsif new.status = 'closed' then
            perform private.record_webhook_event(new.organization_id, 'conversation.closed',
                                                 private.webhook_conversation_data(new));
        elsif old.status = 'closed' then
            perform private.record_webhook_event(new.organization_id, 'conversation.reopened',
                                                 private.webhook_conversation_data(new));
        end if;
    end if;
    if new.assignee_id is distinct from old.assignee_id then
        perform private.record_webhook_event(new.organization_id, 'conversation.assigned',
                                             private.webhook_conversation_data(new));
    end if;
    return null;
end;
$$;

-- Name: tg_memberships__keep_an_owner(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_memberships__keep_an_owner() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    if tg_op = 'UPDATE' and old.organization_id is distinct from new.organization_id then
        raise exception 'a membership cannot move to another organization'
            using errcode = 'check_violation';
    end if;
    perform private.assert_organization_has_owner(old.organization_id);
    return null;
end;
$$;

-- Name: tg_messages__claim_keys(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_messages__claim_keys() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    if tg_op = 'UPDATE' then
        delete from private.message_sids as s
        where s.message_sid = old.metadata ->> 'message_sid' and s.message_id = old.id
          and (old.metadata ->> 'message_sid') is distinct from (new.metadata ->> 'message_sid');
        delete from private.message_broadcast_recipients as b
        where b.broadcast_recipient = old.metadata ->> 'broadcast_recipient'
          and b.message_id = old.id
          and (old.metadata ->> 'broadcast_recipient')
              is distinct from (new.metadata ->> 'broadcast_recipient');
    end if;
    if new.metadata ? 'message_sid' then
        insert into private.message_sids as s (message_sid, organization_id, message_id,
                                               message_created_at)
        values (new.metadata ->> 'message_sid', new.organization_id, new.id, new.created_at)
        on conflict (message_sid) do update
            set organization_id = excluded.organization_id,
                message_created_at = excluded.message_created_at
            where s.message_id = excluded.message_id;
        if not found then
            raise unique_violation using
                message = format('duplicate key value violates unique constraint "%s"',
                                 'messages_message_sid_key'),
                detail = format('Key (message_sid)=(%s) already exists.',
                                new.metadata ->> 'message_sid'),
                constraint = 'messages_message_sid_key',
                schema = 'private', table = 'message_sids';
        end if;
    end if;
    if new.metadata ? 'broadcast_recipient' then
        insert into private.message_broadcast_recipients as b (broadcast_recipient,
                                                              organization_id, message_id,
                                                              message_created_at)
        values (new.metadata ->> 'broadcast_recipient', new.organization_id, new.id,
                new.created_at)
        on conflict (broadcast_recipient) do update
            set organization_id = excluded.organization_id,
                message_created_at = excluded.message_created_at
            where b.message_id = excluded.message_id;
        if not found then
            raise unique_violation using
                message = format('duplicate key value violates unique constraint "%s"',
                                 'messages_broadcast_recipient_key'),
                constraint = 'messages_broadcast_recipient_key',
                schema = 'private', table = 'message_broadcast_recipients';
        end if;
    end if;
    return new;
end;
$$;

-- Name: FUNCTION tg_messages__claim_keys(); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.tg_messages__claim_keys() IS 'Claims a message''s sid (private.message_sids) and broadcast recipient (private.message_broadcast_recipients) as it is stored or changed: unique_violation when another message holds either.';

-- Name: tg_messages__count_usage(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_messages__count_usage() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    ai_reply integer := (new.direction = 'outbound' and new.author = 'ai' and not new.is_error)::integer;
    fallback integer := (new.direction = 'outbound' and new.author = 'ai' and new.is_error)::integer;
begin
    if tg_op = 'UPDATE' then
        -- A reply whose send failed counts as a fallback from then on (as it always did).
        ai_reply := ai_reply
            - (old.direction = 'outbound' and old.author = 'ai' and not old.is_error)::integer;
        fallback := fallback
            - (old.direction = 'outbound' and old.author = 'ai' and old.is_error)::integer;
        insert into public.usage_counters (organization_id, hour, conversation_id, ai_replies,
                                           fallbacks)
        values (new.organization_id, private.usage_hour(new.created_at), new.conversation_id,
                ai_reply, fallback);
        return null;
    end if;
    insert into public.usage_counters (organization_id, hour, conversation_id, messages_in,
                                       messages_out, ai_replies, fallbacks)
    values (new.organization_id, private.usage_hour(new.created_at), new.conversation_id,
            (new.direction = 'inbound')::integer, (new.direction = 'outbound')::integer,
            ai_reply, fallback);
    return null;
end;
$$;

-- Name: FUNCTION tg_messages__count_usage(); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.tg_messages__count_usage() IS 'Counts a new message (or a change of its AI reply/fallback kind) in public.usage_counters.';

-- Name: tg_messages__fetch_media(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_messages__fetch_media() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION tg_messages__fetch_media(); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.tg_messages__fetch_media() IS 'Defers the job that fetches an inbound message''s files into media storage.';

-- Name: tg_messages__forget(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_messages__forget() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    delete from private.message_sids as s using gone as g
    where s.message_sid = g.metadata ->> 'message_sid' and s.message_id = g.id;
    delete from private.message_broadcast_recipients as b using gone as g
    where b.broadcast_recipient = g.metadata ->> 'broadcast_recipient' and b.message_id = g.id;
    update public.ai_runs as r set message_id = null from gone as g where r.message_id = g.id;
    update public.scheduled_messages as s set message_id = null
    from gone as g where s.message_id = g.id;
    update public.broadcast_recipients as r set message_id = null
    from gone as g where r.message_id = g.id;
    return null;
end;
$$;

-- Name: FUNCTION tg_messages__forget(); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.tg_messages__forget() IS 'After messages are deleted: their sids and broadcast keys are forgotten, and the AI runs, scheduled messages and broadcast recipients that named them keep the row with message_id null (the foreign keys'' on delete set null, which a partitioned key made too wide to keep).';

-- Name: tg_messages__media_changed(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_messages__media_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'procrastinate', 'pg_catalog'
    AS $$
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

-- Name: FUNCTION tg_messages__media_changed(); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.tg_messages__media_changed() IS 'Defers the transcription of a stored voice note, and wakes a reply job that waits for the message''s files.';

-- Name: tg_messages__publish_changes(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_messages__publish_changes() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    if new.status is distinct from old.status
        or new.is_error is distinct from old.is_error
        or new.error_code is distinct from old.error_code then
        perform private.publish_event(
            new.organization_id,
            'message.updated',
            jsonb_build_object('conversation_id', new.conversation_id, 'message_id', new.id)
        );
    end if;
    return null;
end;
$$;

-- Name: tg_messages__webhook_events(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_messages__webhook_events() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    if not exists (
        select from public.webhook_endpoints as e
        where e.organization_id = new.organization_id and e.enabled
    ) then
        return null;
    end if;
    if tg_op = 'INSERT' then
        if new.direction = 'inbound' then
            perform private.record_webhook_event(new.organization_id, 'message.received',
                                                 private.webhook_message_data(new));
        end if;
    else
        -- Sent: Twilio took it (or already reports it delivered or read).
        if old.status in ('queued', 'sending') and new.status in ('sent', 'delivered', 'read') then
            perform private.record_webhook_event(new.organization_id, 'message.sent',
                                                 private.webhook_message_data(new));
        end if;
        -- The statuses Twilio reports; 'sending' is Atende's own step.
        if new.status in ('sent', 'delivered', 'read', 'failed', 'undelivered') then
            perform private.record_webhook_event(new.organization_id, 'message.status_changed',
                                                 private.webhook_message_data(new));
        end if;
    end if;
    return null;
end;
$$;

-- Name: tg_organizations__create_agent(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_organizations__create_agent() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    insert into public.agents (organization_id) values (new.id);
    return null;
end;
$$;

-- Name: tg_organizations__need_an_owner(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_organizations__need_an_owner() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
begin
    perform private.assert_organization_has_owner(new.id);
    return null;
end;
$$;

-- Name: tg_webhook_endpoints__enabled_again(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.tg_webhook_endpoints__enabled_again() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog'
    AS $$
begin
    if new.enabled and not old.enabled then
        new.disabled_reason := null;
        new.failing_since := null;
        new.owners_notified_at := null;
    end if;
    return new;
end;
$$;

-- Name: twilio_message_status(text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.twilio_message_status(twilio_status text) RETURNS public.message_status
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select case lower(btrim(twilio_status))
        -- Accepted by Twilio, not yet sent: what `sending` means here.
        when 'accepted' then 'sending'
        when 'scheduled' then 'sending'
        when 'queued' then 'sending'
        when 'sending' then 'sending'
        when 'sent' then 'sent'
        when 'delivered' then 'delivered'
        when 'read' then 'read'
        when 'undelivered' then 'undelivered'
        when 'failed' then 'failed'
        when 'canceled' then 'failed'
        when 'partially_delivered' then 'sent'
    end::public.message_status
$$;

-- Name: unuse_account_token_v1(text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.unuse_account_token_v1(token_hash text) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    update private.account_tokens as t set used_at = null
    where t.token_hash = unuse_account_token_v1.token_hash
      and t.expires_at > now()
      -- Not when a newer token of the same purpose was issued meanwhile.
      and not exists (
          select from private.account_tokens as newer
          where newer.user_id = t.user_id and newer.purpose = t.purpose
            and newer.created_at > t.created_at
      )
$$;

-- Name: FUNCTION unuse_account_token_v1(token_hash text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.unuse_account_token_v1(token_hash text) IS 'Makes a spent token usable again after the step that followed it failed.';

-- Name: usage_hour(timestamp with time zone); Type: FUNCTION; Schema: private

CREATE FUNCTION private.usage_hour(at timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog'
    AS $$
    select date_bin(interval '1 hour', at, timestamptz '2000-01-01 00:00:00+00')
$$;

-- Name: FUNCTION usage_hour(at timestamp with time zone); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.usage_hour(at timestamp with time zone) IS 'The UTC hour a usage count belongs to, whatever the session''s time zone.';

-- Name: use_account_token_v1(text, text); Type: FUNCTION; Schema: private

CREATE FUNCTION private.use_account_token_v1(token_hash text, purpose text) RETURNS TABLE(user_id uuid, email text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    used private.account_tokens;
begin
    update private.account_tokens as t set used_at = now()
    where t.token_hash = use_account_token_v1.token_hash
      and t.purpose = use_account_token_v1.purpose
      and t.used_at is null
      and t.expires_at > now()
    returning * into used;
    if not found then
        raise sqlstate 'PT404' using message = 'token not found, expired or already used';
    end if;
    update public.profiles as p
    set email_verified_at = coalesce(p.email_verified_at, now())
    where p.id = used.user_id and lower(p.email) = used.email;
    return query select used.user_id, used.email;
end;
$$;

-- Name: FUNCTION use_account_token_v1(token_hash text, purpose text); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.use_account_token_v1(token_hash text, purpose text) IS 'Spends a token and verifies the address it reached; PT404 when it cannot be used.';

-- Name: contacts; Type: TABLE; Schema: public

CREATE TABLE public.contacts (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    phone_number text NOT NULL,
    profile_name text,
    display_name text,
    opted_out_at timestamp with time zone,
    last_inbound_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    attributes jsonb DEFAULT '{}'::jsonb NOT NULL,
    tags text[] DEFAULT '{}'::text[] NOT NULL,
    CONSTRAINT contacts_attributes_object CHECK ((jsonb_typeof(attributes) = 'object'::text)),
    CONSTRAINT contacts_attributes_size CHECK ((pg_column_size(attributes) <= 16384)),
    CONSTRAINT contacts_display_name_length CHECK ((char_length(display_name) <= 200)),
    CONSTRAINT contacts_phone_number_e164 CHECK ((phone_number ~ '^\+[1-9][0-9]{6,14}$'::text)),
    CONSTRAINT contacts_tags_valid CHECK (private.contact_tags_are_valid(tags))
);

-- Name: TABLE contacts; Type: COMMENT; Schema: public

COMMENT ON TABLE public.contacts IS 'A customer of an organization, known by phone number.';

-- Name: COLUMN contacts.opted_out_at; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.contacts.opted_out_at IS 'Set when the customer wrote an opt-out keyword (STOP, PARAR, SAIR, ...; private.subscription_intent); nothing is sent to them while set.';

-- Name: COLUMN contacts.attributes; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.contacts.attributes IS 'The business''s own fields about the contact (a JSON object of at most 16 kB).';

-- Name: COLUMN contacts.tags; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.contacts.tags IS 'Labels to find and reach groups of contacts (normalised: private.normalize_contact_tags).';

-- Name: webhook_contact_data(public.contacts); Type: FUNCTION; Schema: private

CREATE FUNCTION private.webhook_contact_data(ct public.contacts) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select jsonb_build_object(
        'contact', jsonb_build_object(
            'id', ct.id, 'phone_number', ct.phone_number,
            'name', coalesce(ct.display_name, ct.profile_name), 'opted_out_at', ct.opted_out_at
        )
    )
$$;

-- Name: webhook_conversation_data(public.conversations); Type: FUNCTION; Schema: private

CREATE FUNCTION private.webhook_conversation_data(c public.conversations) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    select jsonb_build_object(
        'conversation', jsonb_build_object(
            'id', c.id, 'channel_id', c.channel_id, 'contact_id', c.contact_id,
            'status', c.status, 'ai_enabled', c.ai_enabled, 'assignee_id', c.assignee_id,
            'closed_at', c.closed_at, 'last_message_at', c.last_message_at
        )
    )
$$;

-- Name: webhook_event_types(); Type: FUNCTION; Schema: private

CREATE FUNCTION private.webhook_event_types() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select array['message.received', 'message.sent', 'message.status_changed',
                 'conversation.handed_off', 'conversation.assigned', 'conversation.closed',
                 'conversation.reopened', 'contact.opted_out', 'contact.opted_in']
$$;

-- Name: FUNCTION webhook_event_types(); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.webhook_event_types() IS 'The event types an endpoint may subscribe to.';

-- Name: webhook_message_data(public.messages); Type: FUNCTION; Schema: private

CREATE FUNCTION private.webhook_message_data(m public.messages) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
    select jsonb_build_object(
        'message', jsonb_build_object(
            'id', m.id, 'conversation_id', m.conversation_id, 'direction', m.direction,
            'author', m.author, 'body', m.body, 'media', m.media, 'status', m.status,
            'error_code', m.error_code, 'created_at', m.created_at
        ),
        'contact', (select jsonb_build_object('id', ct.id, 'phone_number', ct.phone_number,
                                              'name', coalesce(ct.display_name, ct.profile_name))
                    from public.conversations as c
                    join public.contacts as ct on ct.id = c.contact_id
                    where c.id = m.conversation_id)
    )
$$;

-- Name: window_end(public.channel_kind, timestamp with time zone); Type: FUNCTION; Schema: private

CREATE FUNCTION private.window_end(kind public.channel_kind, last_inbound_at timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    select case when kind = 'sms'::public.channel_kind then null
                else last_inbound_at + interval '24 hours' end
$$;

-- Name: FUNCTION window_end(kind public.channel_kind, last_inbound_at timestamp with time zone); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.window_end(kind public.channel_kind, last_inbound_at timestamp with time zone) IS 'When free-form replies stop being allowed, from the channel kind and the last inbound message.';

-- Name: write_contact_import_v1(uuid, jsonb); Type: FUNCTION; Schema: private

CREATE FUNCTION private.write_contact_import_v1(import_id uuid, rows jsonb) RETURNS TABLE(created integer, updated integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_variable
declare
    organization uuid;
begin
    select i.organization_id into strict organization from public.contact_imports as i
    where i.id = import_id and i.status = 'writing';
    return query
    with written as (
        insert into public.contacts as c (organization_id, phone_number, display_name, attributes, tags)
        select organization, r.phone_number, nullif(btrim(r.name), ''),
               coalesce(r.attributes, '{}'), private.normalize_contact_tags(coalesce(r.tags, '{}'))
        from jsonb_to_recordset(rows) as r(phone_number text, name text, attributes jsonb, tags text[])
        on conflict on constraint contacts_organization_phone_number_key do update
        set display_name = coalesce(excluded.display_name, c.display_name),
            attributes = c.attributes || excluded.attributes,
            tags = private.normalize_contact_tags(c.tags || excluded.tags)
        -- xmax is 0 on a row this statement inserted, set on one it updated.
        returning (c.xmax = 0) as inserted
    )
    select (count(*) filter (where inserted))::integer, (count(*) filter (where not inserted))::integer
    from written;
end;
$$;

-- Name: FUNCTION write_contact_import_v1(import_id uuid, rows jsonb); Type: COMMENT; Schema: private

COMMENT ON FUNCTION private.write_contact_import_v1(import_id uuid, rows jsonb) IS 'Creates or updates one batch of an import''s checked rows (the import job, service role).';

-- Name: add_knowledge_document_v1(uuid, text, text, text, text); Type: FUNCTION; Schema: public

CREATE FUNCTION public.add_knowledge_document_v1(organization_id uuid, title text, content text, source_format text DEFAULT 'text'::text, file_name text DEFAULT NULL::text) RETURNS TABLE(outcome text, id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    caller_role public.membership_role := private.caller_role_in(organization_id);
    new_id uuid;
begin
    if caller_role is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;
    if caller_role not in ('owner', 'admin') then
        return query select 'forbidden'::text, null::uuid;
        return;
    end if;
    insert into public.knowledge_documents as d
        (organization_id, title, content, source_format, file_name, created_by)
    values (add_knowledge_document_v1.organization_id, btrim(title), content,
            source_format, file_name,
            -- A key is nobody: its documents have no author.
            case when private.api_key_of_caller() is null then auth.uid() end)
    returning d.id into new_id;
    perform private.defer_knowledge_indexing(new_id);
    return query select 'added'::text, new_id;
end;
$$;

-- Name: FUNCTION add_knowledge_document_v1(organization_id uuid, title text, content text, source_format text, file_name text); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.add_knowledge_document_v1(organization_id uuid, title text, content text, source_format text, file_name text) IS 'Stores a knowledge document (owners and admins) and defers its indexing in the same transaction.';

-- Name: cancel_broadcast_v1(uuid); Type: FUNCTION; Schema: public

CREATE FUNCTION public.cancel_broadcast_v1(broadcast_id uuid) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    the_broadcast public.broadcasts;
    role public.membership_role;
begin
    -- Waits for a batch being claimed (it holds this row): what it sent stays sent.
    select * into the_broadcast from public.broadcasts as b
    where b.id = cancel_broadcast_v1.broadcast_id
      and b.organization_id in (select private.organizations_of_caller())
    for update;
    if not found then
        raise exception 'no such broadcast'
            using errcode = 'no_data_found', constraint = 'broadcast_not_found';
    end if;
    role := private.caller_role_in(the_broadcast.organization_id);
    if role is null or role not in ('owner', 'admin') then
        raise exception 'only owners and admins cancel broadcasts'
            using errcode = 'insufficient_privilege';
    end if;
    if the_broadcast.status <> 'sending' then
        raise exception 'the broadcast is %', the_broadcast.status
            using errcode = 'check_violation', constraint = 'broadcast_finished';
    end if;
    update public.broadcast_recipients as r
    set status = 'cancelled', reason = 'cancelled', handled_at = now()
    where r.broadcast_id = the_broadcast.id and r.status = 'queued';
    update public.broadcasts as b
    set status = 'cancelled', finished_at = now()
    where b.id = the_broadcast.id;
    return the_broadcast.id;
end;
$$;

-- Name: FUNCTION cancel_broadcast_v1(broadcast_id uuid); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.cancel_broadcast_v1(broadcast_id uuid) IS 'An owner or admin (or API key) stops a broadcast: what was sent stays sent, the recipients still queued are cancelled.';

-- Name: cancel_scheduled_message_v1(uuid); Type: FUNCTION; Schema: public

CREATE FUNCTION public.cancel_scheduled_message_v1(scheduled_message_id uuid) RETURNS public.scheduled_message_status
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'procrastinate', 'pg_catalog'
    AS $$
#variable_conflict use_variable
declare
    the_row public.scheduled_messages;
begin
    -- The lock orders this with the send: whichever comes second sees the other's outcome.
    select * into the_row from public.scheduled_messages as s
    where s.id = scheduled_message_id
      and s.organization_id in (select private.organizations_of_caller())
    for update;
    if not found then
        raise exception 'no such scheduled message'
            using errcode = 'no_data_found', constraint = 'scheduled_message_not_found';
    end if;
    if the_row.status = 'scheduled' then
        update public.scheduled_messages as s
        set status = 'cancelled', processed_at = now()
        where s.id = the_row.id;
        -- Its job, still waiting, goes too (one already running finds it cancelled).
        if the_row.job_id is not null then
            perform procrastinate.procrastinate_cancel_job_v1(the_row.job_id, false, true);
        end if;
        return 'cancelled';
    end if;
    -- Cancelled already: the same answer again. Sent, skipped or failed: the caller is
    -- told what became of it.
    return the_row.status;
end;
$$;

-- Name: FUNCTION cancel_scheduled_message_v1(scheduled_message_id uuid); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.cancel_scheduled_message_v1(scheduled_message_id uuid) IS 'Cancels a scheduled message still waiting (returns cancelled); returns its status unchanged when it was already sent, skipped or failed.';

-- Name: create_api_key_v1(uuid, text, public.membership_role); Type: FUNCTION; Schema: public

CREATE FUNCTION public.create_api_key_v1(organization_id uuid, name text, role public.membership_role DEFAULT 'agent'::public.membership_role) RETURNS TABLE(api_key_id uuid, secret text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    caller_role public.membership_role := private.caller_role_in(create_api_key_v1.organization_id);
    new_secret text;
    new_id uuid;
begin
    if caller_role is null then
        raise sqlstate 'PT404' using message = 'organization not found';
    end if;
    if private.api_key_of_caller() is not null then
        raise sqlstate 'PT403' using message = 'API keys cannot create API keys';
    end if;
    if caller_role = 'agent' then
        raise sqlstate 'PT403' using message = 'only owners and admins can create API keys';
    end if;
    if create_api_key_v1.role = 'owner' and caller_role <> 'owner' then
        raise sqlstate 'PT403' using message = 'only an owner can create an owner key';
    end if;
    if create_api_key_v1.role is null then
        raise sqlstate '22023' using message = 'a key needs a role', column = 'role';
    end if;

    -- Serialise creations per organization, so the count below holds.
    perform from public.organizations as o
    where o.id = create_api_key_v1.organization_id for no key update;
    if (select count(*) from public.api_keys as k
        where k.organization_id = create_api_key_v1.organization_id and k.revoked_at is null)
        >= 50 then
        raise exception 'an organization has at most 50 active API keys'
            using errcode = 'check_violation', constraint = 'api_keys_per_organization';
    end if;

    new_secret := 'atende_'
        || translate(encode(extensions.gen_random_bytes(32), 'base64'), '+/=', '-_');
    insert into public.api_keys as k (organization_id, name, role, prefix, secret_digest,
                                      created_by)
    values (create_api_key_v1.organization_id, btrim(create_api_key_v1.name),
            create_api_key_v1.role, left(new_secret, 15),
            encode(sha256(convert_to(new_secret, 'UTF8')), 'hex'), (select auth.uid()))
    returning k.id into new_id;
    return query select new_id, new_secret;
end;
$$;

-- Name: FUNCTION create_api_key_v1(organization_id uuid, name text, role public.membership_role); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.create_api_key_v1(organization_id uuid, name text, role public.membership_role) IS 'A new API key (owners and admins; only owners make owner keys; never a key): its id and its secret, shown this once.';

-- Name: create_broadcast_v1(uuid, uuid, jsonb, uuid[], text); Type: FUNCTION; Schema: public

CREATE FUNCTION public.create_broadcast_v1(channel_id uuid, template_id uuid, variables jsonb DEFAULT '{}'::jsonb, contact_ids uuid[] DEFAULT NULL::uuid[], tag text DEFAULT NULL::text) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    calling_key uuid := private.api_key_of_caller();
    the_channel public.channels;
    the_template public.channel_templates;
    preview text;
    wanted uuid[];
    wanted_tags text[];
    found_count integer;
    new_id uuid;
    role public.membership_role;
begin
    select * into the_channel from public.channels as ch
    where ch.id = create_broadcast_v1.channel_id
      and ch.organization_id in (select private.organizations_of_caller());
    if not found then
        raise exception 'no such channel'
            using errcode = 'no_data_found', constraint = 'channel_not_found';
    end if;
    role := private.caller_role_in(the_channel.organization_id);
    if role is null or role not in ('owner', 'admin') then
        raise exception 'only owners and admins send broadcasts'
            using errcode = 'insufficient_privilege';
    end if;
    select * into the_template from public.channel_templates as t
    where t.id = create_broadcast_v1.template_id and t.channel_id = the_channel.id;
    if not found then
        raise exception 'no such template on this channel'
            using errcode = 'no_data_found', constraint = 'template_not_found';
    end if;
    if not the_channel.enabled then
        raise exception 'the channel is disabled'
            using errcode = 'check_violation', constraint = 'channel_disabled';
    end if;
    -- The checks and the text of sendTemplate (20261207001540_scheduled_messages).
    preview := private.render_template_message(the_template, variables);

    -- Either a list of contacts or a tag (contacts' tags, 20261207001500).
    if (contact_ids is null) = (tag is null) then
        raise exception 'give either contact ids or a tag'
            using errcode = 'check_violation', constraint = 'broadcast_audience_invalid';
    end if;
    if tag is not null then
        wanted_tags := private.normalize_contact_tags(array[tag]);
        if cardinality(wanted_tags) <> 1 then
            raise exception 'the tag is empty'
                using errcode = 'check_violation', constraint = 'broadcast_tag_invalid';
        end if;
        -- The tagged contacts, oldest first (the GIN index on (organization_id, tags)).
        wanted := array(
            select ct.id from public.contacts as ct
            where ct.organization_id = the_channel.organization_id
              and ct.tags @> wanted_tags
            order by ct.created_at, ct.id
        );
    else
        -- The contacts, each once, in the order first given.
        wanted := array(
            select id from unnest(contact_ids) with ordinality as given (id, n)
            where id is not null
            group by id order by min(n)
        );
    end if;
    if cardinality(wanted) = 0 then
        raise exception 'a broadcast needs at least one contact'
            using errcode = 'check_violation', constraint = 'broadcast_recipients_empty';
    end if;
    if cardinality(wanted) > 100000 then
        raise exception 'at most 100000 contacts in one broadcast'
            using errcode = 'check_violation', constraint = 'broadcast_recipients_too_many';
    end if;
    select count(*) into found_count from public.contacts as ct
    where ct.id = any (wanted) and ct.organization_id = the_channel.organization_id;
    if found_count <> cardinality(wanted) then
        raise exception 'some contacts are not the organization''s'
            using errcode = 'check_violation', constraint = 'broadcast_contact_not_found';
    end if;

    insert into public.broadcasts (organization_id, channel_id, template_id, content_sid,
                                   template_name, variables, body, rate_per_second, total,
                                   created_by, api_key_id)
    values (the_channel.organization_id, the_channel.id, the_template.id,
            the_template.content_sid, the_template.name, coalesce(variables, '{}'), preview,
            private.broadcast_rate(the_channel.kind, the_channel.broadcast_rate_per_second),
            cardinality(wanted),
            case when calling_key is null then (select auth.uid()) end, calling_key)
    returning id into new_id;

    insert into public.broadcast_recipients (broadcast_id, contact_id, organization_id,
                                             position, status, reason, handled_at)
    select new_id, ct.id, ct.organization_id, given.n,
           case when ct.opted_out_at is null then 'queued' else 'skipped' end::public.broadcast_recipient_status,
           case when ct.opted_out_at is not null then 'opted_out' end,
           case when ct.opted_out_at is not null then now() end
    from unnest(wanted) with ordinality as given (id, n)
    join public.contacts as ct on ct.id = given.id;

    perform private.defer_job(
        task_name => 'channels:send_broadcast',
        args => jsonb_build_object('broadcast_id', new_id),
        queue_name => 'broadcasts',
        lock => 'broadcast:' || new_id
    );
    return new_id;
end;
$$;

-- Name: FUNCTION create_broadcast_v1(channel_id uuid, template_id uuid, variables jsonb, contact_ids uuid[], tag text); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.create_broadcast_v1(channel_id uuid, template_id uuid, variables jsonb, contact_ids uuid[], tag text) IS 'An owner or admin (or API key) sends an approved template to many contacts of a channel (a list, or those with a tag): stored with its recipients (opted-out ones skipped) and its job deferred.';

-- Name: create_contact_import_v1(uuid, text, text, integer); Type: FUNCTION; Schema: public

CREATE FUNCTION public.create_contact_import_v1(organization_id uuid, file_name text, source text, total_rows integer) RETURNS TABLE(outcome text, id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    caller_role public.membership_role := private.caller_role_in(organization_id);
    new_id uuid;
begin
    if caller_role is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;
    -- Bulk changes to the customer list are the owners' and admins'.
    if caller_role not in ('owner', 'admin') then
        return query select 'forbidden'::text, null::uuid;
        return;
    end if;
    insert into public.contact_imports as i
        (organization_id, created_by, file_name, source, total_rows)
    values (create_contact_import_v1.organization_id,
            (select p.id from public.profiles as p where p.id = auth.uid()),
            file_name, source, total_rows)
    returning i.id into new_id;
    perform private.defer_job(
        'contacts:import_contacts',
        jsonb_build_object('import_id', new_id),
        'contacts',
        lock => 'contact_import:' || new_id
    );
    return query select 'created'::text, new_id;
end;
$$;

-- Name: FUNCTION create_contact_import_v1(organization_id uuid, file_name text, source text, total_rows integer); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.create_contact_import_v1(organization_id uuid, file_name text, source text, total_rows integer) IS 'Stores a CSV file of contacts (owners and admins) and defers its import in the same transaction.';

-- Name: create_contact_v1(uuid, text, text, jsonb, text[]); Type: FUNCTION; Schema: public

CREATE FUNCTION public.create_contact_v1(organization_id uuid, phone_number text, display_name text DEFAULT NULL::text, attributes jsonb DEFAULT '{}'::jsonb, tags text[] DEFAULT '{}'::text[]) RETURNS TABLE(outcome text, id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    new_id uuid;
begin
    if private.caller_role_in(organization_id) is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;
    insert into public.contacts as c (organization_id, phone_number, display_name, attributes, tags)
    values (create_contact_v1.organization_id, phone_number,
            nullif(btrim(display_name), ''), coalesce(attributes, '{}'),
            private.normalize_contact_tags(coalesce(tags, '{}')))
    on conflict on constraint contacts_organization_phone_number_key do nothing
    returning c.id into new_id;
    if new_id is null then
        return query select 'exists'::text, c.id from public.contacts as c
        where c.organization_id = create_contact_v1.organization_id
          and c.phone_number = create_contact_v1.phone_number;
        return;
    end if;
    return query select 'created'::text, new_id;
end;
$$;

-- Name: FUNCTION create_contact_v1(organization_id uuid, phone_number text, display_name text, attributes jsonb, tags text[]); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.create_contact_v1(organization_id uuid, phone_number text, display_name text, attributes jsonb, tags text[]) IS 'Adds a contact to the organization (any member); ''exists'' when the number is already one.';

-- Name: contact_erasures; Type: TABLE; Schema: public

CREATE TABLE public.contact_erasures (
    organization_id uuid NOT NULL,
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    erased_contact_id uuid NOT NULL,
    phone_digest text NOT NULL,
    erased_by uuid,
    erased_at timestamp with time zone DEFAULT now() NOT NULL,
    conversations integer NOT NULL,
    messages integer NOT NULL,
    files integer NOT NULL
);

-- Name: TABLE contact_erasures; Type: COMMENT; Schema: public

COMMENT ON TABLE public.contact_erasures IS 'The audit trail of erasures (LGPD): who (a user or API key id) erased which contact, when, and how much went. Owners read it.';

-- Name: erase_contact_v1(uuid); Type: FUNCTION; Schema: public

CREATE FUNCTION public.erase_contact_v1(contact_id uuid) RETURNS public.contact_erasures
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $_$
declare
    target public.contacts;
    caller_role public.membership_role;
    conversation_ids uuid[];
    named text[];
    scheduled text[] := '{}';
    gone jsonb;
    message_count integer;
    file_count integer;
    erasure public.contact_erasures;
begin
    select * into target from public.contacts as ct where ct.id = erase_contact_v1.contact_id
    for update;
    if found then
        caller_role := private.caller_role_in(target.organization_id);
    end if;
    if not found or caller_role is null then
        raise sqlstate 'PT404' using message = 'contact not found';
    end if;
    if caller_role = 'agent' then
        raise sqlstate 'PT403' using message = 'only owners and admins can erase contacts';
    end if;

    select coalesce(array_agg(c.id), '{}') into conversation_ids
    from public.conversations as c where c.contact_id = target.id;

    -- Every id a job or a payload could name the contact by.
    select array[target.id::text] || coalesce(array_agg(m.id::text), '{}')
           || conversation_ids::text[],
           coalesce(jsonb_agg(jsonb_build_object('organization_id', m.organization_id,
                                                 'media', m.media))
                    filter (where m.media <> '[]'::jsonb), '[]'::jsonb),
           count(m.id)::integer
    into named, gone, message_count
    from public.messages as m
    where m.conversation_id = any(conversation_ids);
    file_count := private.queue_media_deletions(gone);

    -- Outgoing-webhook deliveries whose payload names the contact, and their jobs.
    with deleted as (
        delete from public.webhook_deliveries as d
        where d.organization_id = target.organization_id
          and (d.payload #>> '{data,contact,id}' = target.id::text
               or d.payload #>> '{data,conversation,contact_id}' = target.id::text
               or d.payload #>> '{data,message,conversation_id}' = any(conversation_ids::text[]))
        returning d.id::text
    )
    select named || coalesce(array_agg(deleted.id), '{}') into named from deleted;

    -- Scheduled messages (20261207001540) go with their conversation; their jobs too.
    if to_regclass('public.scheduled_messages') is not null then
        execute 'select coalesce(array_agg(s.id::text), ''{}'') from public.scheduled_messages as s'
                ' where s.conversation_id = any($1)'
        into strict scheduled using conversation_ids;
        named := named || scheduled;
    end if;

    -- Jobs whose arguments name the contact, a conversation, message or delivery of
    -- theirs (waiting, finished or failed; one running now finds nothing when it looks).
    perform private.delete_jobs_naming(named);

    -- The contact, and with it (foreign keys, on delete cascade) its conversations,
    -- messages, AI runs, read positions, scheduled messages and broadcast recipients.
    delete from public.contacts as ct where ct.id = target.id;

    -- Usage keeps its counts, under an id that leads nowhere.
    update public.usage_counters as u set conversation_id = r.replacement
    from (select unnest(conversation_ids) as original, gen_random_uuid() as replacement) as r
    where u.organization_id = target.organization_id and u.conversation_id = r.original;

    insert into public.contact_erasures (organization_id, erased_contact_id, phone_digest,
                                         erased_by, conversations, messages, files)
    values (target.organization_id, target.id,
            encode(sha256(convert_to(target.organization_id::text || ':' || target.phone_number,
                                     'UTF8')), 'hex'),
            (select auth.uid()), cardinality(conversation_ids), message_count, file_count)
    returning * into erasure;
    return erasure;
end;
$_$;

-- Name: FUNCTION erase_contact_v1(contact_id uuid); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.erase_contact_v1(contact_id uuid) IS 'Erases a contact (owners and admins): their conversations, messages, files, AI runs, jobs and webhook deliveries; usage keeps its counts; recorded in contact_erasures.';

-- Name: redeliver_webhook_v1(uuid); Type: FUNCTION; Schema: public

CREATE FUNCTION public.redeliver_webhook_v1(delivery_id uuid) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    the_delivery public.webhook_deliveries;
begin
    select * into the_delivery from public.webhook_deliveries as d
    where d.id = redeliver_webhook_v1.delivery_id
      and d.organization_id in (select private.organizations_where_caller_is('{owner,admin}'))
    for update;
    if not found then
        raise sqlstate 'PT404' using message = 'webhook delivery not found';
    end if;
    if not exists (select from public.webhook_endpoints as e
                   where e.id = the_delivery.endpoint_id and e.enabled) then
        raise sqlstate 'PT409' using message = 'the endpoint is disabled';
    end if;
    update public.webhook_deliveries as d
    set status = 'pending', attempts = 0, delivered_at = null, next_attempt_at = now()
    where d.id = the_delivery.id;
    perform private.defer_job('webhooks:deliver_webhook',
                              jsonb_build_object('delivery_id', the_delivery.id,
                                                 'endpoint_id', the_delivery.endpoint_id),
                              'webhooks');
    return the_delivery.id;
end;
$$;

-- Name: FUNCTION redeliver_webhook_v1(delivery_id uuid); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.redeliver_webhook_v1(delivery_id uuid) IS 'Queues a delivery again with its webhook-id and payload (owners and admins).';

-- Name: remove_knowledge_document_v1(uuid); Type: FUNCTION; Schema: public

CREATE FUNCTION public.remove_knowledge_document_v1(document_id uuid) RETURNS TABLE(outcome text, id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_variable
declare
    organization uuid;
    caller_role public.membership_role;
begin
    select d.organization_id into organization from public.knowledge_documents as d
    where d.id = document_id;
    caller_role := private.caller_role_in(organization);
    if organization is null or caller_role is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;
    if caller_role not in ('owner', 'admin') then
        return query select 'forbidden'::text, null::uuid;
        return;
    end if;
    -- Its passages go with it (on delete cascade); a waiting job finds nothing to do.
    delete from public.knowledge_documents as d where d.id = document_id;
    return query select 'removed'::text, document_id;
end;
$$;

-- Name: FUNCTION remove_knowledge_document_v1(document_id uuid); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.remove_knowledge_document_v1(document_id uuid) IS 'Deletes a knowledge document and its passages (owners and admins).';

-- Name: memberships; Type: TABLE; Schema: public

CREATE TABLE public.memberships (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    user_id uuid NOT NULL,
    role public.membership_role DEFAULT 'agent'::public.membership_role NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

-- Name: TABLE memberships; Type: COMMENT; Schema: public

COMMENT ON TABLE public.memberships IS 'Who belongs to which organization, and with what role.';

-- Name: remove_member_v1(uuid, uuid); Type: FUNCTION; Schema: public

CREATE FUNCTION public.remove_member_v1(organization_id uuid, user_id uuid) RETURNS public.memberships
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    caller_role public.membership_role;
    leaving boolean := remove_member_v1.user_id = (select auth.uid());
    target public.memberships;
begin
    caller_role := private.lock_organization_for_member_change(remove_member_v1.organization_id);
    if caller_role = 'agent' and not leaving then
        raise sqlstate 'PT403' using message = 'only owners and admins can remove members';
    end if;

    select * into target from public.memberships as m
    where m.organization_id = remove_member_v1.organization_id
      and m.user_id = remove_member_v1.user_id
    for update;
    if not found then
        raise sqlstate 'PT404' using message = 'member not found';
    end if;

    if target.role = 'owner' and caller_role <> 'owner' then
        raise sqlstate 'PT403' using message = 'only an owner can remove an owner';
    end if;
    if target.role = 'owner'
        and not private.has_another_owner(target.organization_id, target.user_id) then
        raise sqlstate 'PT409' using
            message = 'an organization must keep at least one owner',
            constraint = 'organizations_need_an_owner';
    end if;

    delete from public.memberships as m where m.id = target.id;
    return target;
end;
$$;

-- Name: FUNCTION remove_member_v1(organization_id uuid, user_id uuid); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.remove_member_v1(organization_id uuid, user_id uuid) IS 'Removes a member (anyone may remove themselves) under the role rules.';

-- Name: revoke_api_key_v1(uuid); Type: FUNCTION; Schema: public

CREATE FUNCTION public.revoke_api_key_v1(api_key_id uuid) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    target public.api_keys;
    caller_role public.membership_role;
begin
    select * into target from public.api_keys as k where k.id = revoke_api_key_v1.api_key_id
    for update;
    if found then
        caller_role := private.caller_role_in(target.organization_id);
    end if;
    if not found or caller_role is null or caller_role = 'agent' then
        raise sqlstate 'PT404' using message = 'API key not found';
    end if;
    if private.api_key_of_caller() is not null then
        raise sqlstate 'PT403' using message = 'API keys cannot revoke API keys';
    end if;
    if target.role = 'owner' and caller_role <> 'owner' then
        raise sqlstate 'PT403' using message = 'only an owner can revoke an owner key';
    end if;
    if target.revoked_at is null then
        update public.api_keys as k set revoked_at = now(), revoked_by = (select auth.uid())
        where k.id = target.id;
    end if;
    return target.id;
end;
$$;

-- Name: FUNCTION revoke_api_key_v1(api_key_id uuid); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.revoke_api_key_v1(api_key_id uuid) IS 'Revokes an API key (owners and admins; only owners revoke an owner key; never a key): it sees and changes nothing from then on.';

-- Name: schedule_message_v1(uuid, timestamp with time zone, text, uuid, jsonb); Type: FUNCTION; Schema: public

CREATE FUNCTION public.schedule_message_v1(conversation_id uuid, send_at timestamp with time zone, body text DEFAULT NULL::text, template_id uuid DEFAULT NULL::uuid, variables jsonb DEFAULT '{}'::jsonb) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_variable
declare
    calling_key uuid := private.api_key_of_caller();
    the_conversation public.conversations;
    the_template public.channel_templates;
    the_contact public.contacts;
    given jsonb := coalesce(variables, '{}');
    text_body text := nullif(btrim(coalesce(body, '')), '');
    new_id uuid;
    new_job bigint;
begin
    select * into the_conversation from public.conversations as c
    where c.id = conversation_id
      and c.organization_id in (select private.organizations_of_caller());
    if not found then
        raise exception 'no such conversation'
            using errcode = 'no_data_found', constraint = 'conversation_not_found';
    end if;

    if (text_body is null) = (template_id is null) then
        raise exception 'a scheduled message is a body or a template, not both nor neither'
            using errcode = 'check_violation', constraint = 'scheduled_messages_content';
    end if;
    if text_body is not null and char_length(body) > 4096 then
        raise exception 'a free-form message has at most 4096 characters'
            using errcode = 'check_violation', constraint = 'scheduled_messages_body_length';
    end if;
    if send_at is null or send_at <= now() or send_at > now() + interval '90 days' then
        raise exception 'send_at must be in the future, within 90 days'
            using errcode = 'check_violation', constraint = 'scheduled_messages_send_at_horizon';
    end if;

    if template_id is not null then
        select * into the_template from public.channel_templates as t
        where t.id = template_id and t.channel_id = the_conversation.channel_id;
        if not found then
            raise exception 'no such template on this conversation''s channel'
                using errcode = 'no_data_found', constraint = 'template_not_found';
        end if;
        perform private.render_template_message(the_template, given);
    end if;

    -- What would refuse it now refuses it up front; it is checked again when it is due.
    select * into strict the_contact from public.contacts as ct
    where ct.id = the_conversation.contact_id;
    if the_contact.opted_out_at is not null then
        raise exception 'the contact opted out of messages'
            using errcode = 'check_violation', constraint = 'contact_opted_out';
    end if;
    if not (select ch.enabled from public.channels as ch where ch.id = the_conversation.channel_id)
    then
        raise exception 'the channel is disabled'
            using errcode = 'check_violation', constraint = 'channel_disabled';
    end if;

    insert into public.scheduled_messages as s
        (organization_id, conversation_id, body, template_id, template_name, variables,
         send_at, created_by, created_by_api_key)
    values (the_conversation.organization_id, the_conversation.id,
            case when template_id is null then body end,
            the_template.id, the_template.name,
            case when template_id is null then '{}'::jsonb else given end,
            send_at,
            case when calling_key is null then (select auth.uid()) end,
            calling_key)
    returning s.id into new_id;

    new_job := private.defer_job(
        task_name => 'conversations:send_scheduled_message',
        args => jsonb_build_object('scheduled_message_id', new_id),
        queue_name => 'sends',
        queueing_lock => 'scheduled_message:' || new_id,
        scheduled_at => send_at
    );
    update public.scheduled_messages as s set job_id = new_job where s.id = new_id;
    return new_id;
end;
$$;

-- Name: FUNCTION schedule_message_v1(conversation_id uuid, send_at timestamp with time zone, body text, template_id uuid, variables jsonb); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.schedule_message_v1(conversation_id uuid, send_at timestamp with time zone, body text, template_id uuid, variables jsonb) IS 'A member (or API key) schedules free text or a template in a conversation for send_at (future, within 90 days); its job is deferred to then in the same transaction.';

-- Name: send_member_message_v1(uuid, text); Type: FUNCTION; Schema: public

CREATE FUNCTION public.send_member_message_v1(conversation_id uuid, body text) RETURNS TABLE(outcome text, message_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    caller uuid := auth.uid();
    calling_key uuid := private.api_key_of_caller();
    the_conversation public.conversations;
    new_message_id uuid;
    refusal text;
begin
    select * into the_conversation from public.conversations as c
    where c.id = send_member_message_v1.conversation_id;
    if not found or caller is null
        or private.caller_role_in(the_conversation.organization_id) is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;

    -- WhatsApp's limit for a free-form message.
    if body is null or btrim(body) = '' or char_length(body) > 4096 then
        return query select 'invalid_body'::text, null::uuid;
        return;
    end if;

    begin
        new_message_id := private.queue_outbound_message(
            conversation_id => the_conversation.id,
            author => 'member',
            body => body,
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

    update public.conversations set ai_enabled = false
    where id = the_conversation.id and ai_enabled;

    return query select 'queued'::text, new_message_id;
end;
$$;

-- Name: FUNCTION send_member_message_v1(conversation_id uuid, body text); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.send_member_message_v1(conversation_id uuid, body text) IS 'A team member''s (or API key''s) reply: queued with its send job under the WhatsApp rules; pauses the AI in the conversation.';

-- Name: send_member_message_v2(uuid, text, jsonb); Type: FUNCTION; Schema: public

CREATE FUNCTION public.send_member_message_v2(conversation_id uuid, body text, media jsonb DEFAULT '[]'::jsonb) RETURNS TABLE(outcome text, message_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
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

-- Name: FUNCTION send_member_message_v2(conversation_id uuid, body text, media jsonb); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.send_member_message_v2(conversation_id uuid, body text, media jsonb) IS 'A team member''s (or API key''s) reply, with files the team uploaded to media storage (WhatsApp''s kinds and sizes): queued with its send job under the WhatsApp rules; pauses the AI in the conversation.';

-- Name: send_template_message_v1(uuid, uuid, jsonb); Type: FUNCTION; Schema: public

CREATE FUNCTION public.send_template_message_v1(conversation_id uuid, template_id uuid, variables jsonb DEFAULT '{}'::jsonb) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    calling_key uuid := private.api_key_of_caller();
    the_conversation public.conversations;
    the_template public.channel_templates;
    the_channel public.channels;
    given jsonb := coalesce(variables, '{}');
    expected text[];
    missing text;
    preview text;
    variable record;
begin
    select * into the_conversation from public.conversations
    where id = send_template_message_v1.conversation_id
      and organization_id in (select private.organizations_of_caller());
    if not found then
        raise exception 'no such conversation'
            using errcode = 'no_data_found', constraint = 'conversation_not_found';
    end if;
    select * into the_template from public.channel_templates
    where id = template_id and channel_id = the_conversation.channel_id;
    if not found then
        raise exception 'no such template on this conversation''s channel'
            using errcode = 'no_data_found', constraint = 'template_not_found';
    end if;
    select * into strict the_channel from public.channels where id = the_conversation.channel_id;
    if not the_channel.enabled then
        raise exception 'the channel is disabled'
            using errcode = 'check_violation', constraint = 'channel_disabled';
    end if;

    if jsonb_typeof(given) <> 'object' then
        raise exception 'variables must be an object'
            using errcode = 'check_violation', constraint = 'template_variables_invalid';
    end if;
    expected := array(select v.item ->> 'key' from jsonb_array_elements(the_template.variables) as v (item));
    select key into missing from unnest(expected) as key
    where char_length(btrim(coalesce(given ->> key, ''))) = 0
    limit 1;
    if missing is not null then
        raise exception 'the variable % needs a value', missing
            using errcode = 'check_violation', constraint = 'template_variables_invalid';
    end if;
    select key into missing from jsonb_object_keys(given) as key
    where key <> all (expected)
    limit 1;
    if missing is not null then
        raise exception 'the template has no variable %', missing
            using errcode = 'check_violation', constraint = 'template_variables_invalid';
    end if;
    if exists (
        select from jsonb_each(given) as g
        where jsonb_typeof(g.value) <> 'string' or char_length(g.value #>> '{}') > 1000
    ) then
        raise exception 'variable values are texts of up to 1000 characters'
            using errcode = 'check_violation', constraint = 'template_variables_invalid';
    end if;

    preview := coalesce(the_template.body, '');
    for variable in select * from jsonb_each_text(given) loop
        preview := replace(preview, '{{' || variable.key || '}}', variable.value);
    end loop;

    return private.queue_outbound_message(
        conversation_id => the_conversation.id,
        author => 'member',
        body => left(preview, 10000),
        author_member_id => case when calling_key is null then (select auth.uid()) end,
        metadata => jsonb_build_object(
            'content_sid', the_template.content_sid,
            'content_variables', given,
            'template_id', the_template.id,
            'template_name', the_template.name
        ) || case when calling_key is null then '{}'::jsonb
                  else jsonb_build_object('api_key_id', calling_key) end
    );
end;
$$;

-- Name: FUNCTION send_template_message_v1(conversation_id uuid, template_id uuid, variables jsonb); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.send_template_message_v1(conversation_id uuid, template_id uuid, variables jsonb) IS 'A member (or API key) sends an approved template (ContentSid) in a conversation; queued with its send job.';

-- Name: set_message_retention_v1(uuid, integer); Type: FUNCTION; Schema: public

CREATE FUNCTION public.set_message_retention_v1(organization_id uuid, days integer) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    caller_role public.membership_role := private.caller_role_in(set_message_retention_v1.organization_id);
begin
    if caller_role is null then
        raise sqlstate 'PT404' using message = 'organization not found';
    end if;
    if caller_role <> 'owner' then
        raise sqlstate 'PT403' using message = 'only owners can change how long messages are kept';
    end if;
    update public.organizations as o set message_retention_days = days
    where o.id = set_message_retention_v1.organization_id;
    return days;
end;
$$;

-- Name: FUNCTION set_message_retention_v1(organization_id uuid, days integer); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.set_message_retention_v1(organization_id uuid, days integer) IS 'Sets how many days an organization keeps its messages (owners; null: forever; 30 to 3650).';

-- Name: start_conversation_v1(uuid, text, uuid, jsonb); Type: FUNCTION; Schema: public

CREATE FUNCTION public.start_conversation_v1(channel_id uuid, phone_number text, template_id uuid, variables jsonb DEFAULT '{}'::jsonb) RETURNS TABLE(conversation_id uuid, message_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $_$
-- The parameters are always written qualified (start_conversation_v1.channel_id): a bare
-- name is the column (ON CONFLICT's index columns).
#variable_conflict use_column
declare
    the_channel public.channels;
    the_contact public.contacts;
    the_conversation_id uuid;
begin
    select * into the_channel from public.channels as ch
    where ch.id = start_conversation_v1.channel_id
      and ch.organization_id in (select private.organizations_of_caller());
    if not found then
        raise exception 'no such channel'
            using errcode = 'no_data_found', constraint = 'channel_not_found';
    end if;
    if not the_channel.enabled then
        raise exception 'the channel is disabled'
            using errcode = 'check_violation', constraint = 'channel_disabled';
    end if;
    if start_conversation_v1.phone_number is null
            or start_conversation_v1.phone_number !~ '^\+[1-9][0-9]{6,14}$'
            or start_conversation_v1.phone_number = the_channel.phone_number then
        raise exception 'not a customer''s number in E.164'
            using errcode = 'check_violation', constraint = 'phone_number_invalid';
    end if;
    if not exists (
        select from public.channel_templates as t
        where t.id = start_conversation_v1.template_id and t.channel_id = the_channel.id
    ) then
        raise exception 'no such template on this channel'
            using errcode = 'no_data_found', constraint = 'template_not_found';
    end if;

    insert into public.contacts (organization_id, phone_number)
    values (the_channel.organization_id, start_conversation_v1.phone_number)
    on conflict on constraint contacts_organization_phone_number_key do nothing;
    select * into strict the_contact from public.contacts as ct
    where ct.organization_id = the_channel.organization_id
      and ct.phone_number = start_conversation_v1.phone_number;
    if the_contact.opted_out_at is not null then
        raise exception 'the contact opted out of messages'
            using errcode = 'check_violation', constraint = 'contact_opted_out';
    end if;

    insert into public.conversations (organization_id, channel_id, contact_id)
    values (the_channel.organization_id, the_channel.id, the_contact.id)
    on conflict (channel_id, contact_id, organization_id) where status <> 'closed' do nothing
    returning id into the_conversation_id;
    if the_conversation_id is null then
        -- Already one open with them (read in a new snapshot: a concurrent start's
        -- conversation, committed, is found here).
        select c.id into strict the_conversation_id from public.conversations as c
        where c.channel_id = the_channel.id and c.contact_id = the_contact.id
          and c.status <> 'closed';
    end if;

    return query select the_conversation_id,
        public.send_template_message_v1(
            the_conversation_id, start_conversation_v1.template_id,
            coalesce(start_conversation_v1.variables, '{}')
        );
end;
$_$;

-- Name: FUNCTION start_conversation_v1(channel_id uuid, phone_number text, template_id uuid, variables jsonb); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.start_conversation_v1(channel_id uuid, phone_number text, template_id uuid, variables jsonb) IS 'A member (or API key) sends an approved template to a phone number on one of its channels, making the contact and the conversation when missing; refuses opted-out contacts before making anything.';

-- Name: update_contact_v1(uuid, text, jsonb, text[]); Type: FUNCTION; Schema: public

CREATE FUNCTION public.update_contact_v1(contact_id uuid, display_name text DEFAULT NULL::text, attributes jsonb DEFAULT NULL::jsonb, tags text[] DEFAULT NULL::text[]) RETURNS TABLE(outcome text, id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_variable
declare
    organization uuid;
begin
    select c.organization_id into organization from public.contacts as c
    where c.id = contact_id
    for update;
    if organization is null or private.caller_role_in(organization) is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;
    -- Null leaves a field as it is; an empty name clears the team's name for them.
    update public.contacts as c
    set display_name = case when display_name is null then c.display_name
                            else nullif(btrim(display_name), '') end,
        attributes = coalesce(attributes, c.attributes),
        tags = coalesce(private.normalize_contact_tags(tags), c.tags)
    where c.id = contact_id;
    return query select 'updated'::text, contact_id;
end;
$$;

-- Name: FUNCTION update_contact_v1(contact_id uuid, display_name text, attributes jsonb, tags text[]); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.update_contact_v1(contact_id uuid, display_name text, attributes jsonb, tags text[]) IS 'Changes a contact''s name, attributes (replaced whole) or tags (any member).';

-- Name: update_knowledge_document_v1(uuid, text, text, text, text); Type: FUNCTION; Schema: public

CREATE FUNCTION public.update_knowledge_document_v1(document_id uuid, title text DEFAULT NULL::text, content text DEFAULT NULL::text, source_format text DEFAULT NULL::text, file_name text DEFAULT NULL::text) RETURNS TABLE(outcome text, id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
#variable_conflict use_variable
declare
    the_document public.knowledge_documents;
    caller_role public.membership_role;
begin
    select * into the_document from public.knowledge_documents as d
    where d.id = document_id
    for update;
    caller_role := private.caller_role_in(the_document.organization_id);
    if the_document.id is null or caller_role is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;
    if caller_role not in ('owner', 'admin') then
        return query select 'forbidden'::text, null::uuid;
        return;
    end if;
    -- Any change re-indexes: the title is part of every passage's context.
    update public.knowledge_documents as d
    set title = coalesce(btrim(title), d.title),
        content = coalesce(content, d.content),
        source_format = case when content is null then d.source_format
                             else coalesce(source_format, 'text') end,
        file_name = case when content is null then d.file_name else file_name end,
        status = 'pending',
        error = null,
        revision = d.revision + 1
    where d.id = document_id;
    perform private.defer_knowledge_indexing(document_id);
    return query select 'updated'::text, document_id;
end;
$$;

-- Name: FUNCTION update_knowledge_document_v1(document_id uuid, title text, content text, source_format text, file_name text); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.update_knowledge_document_v1(document_id uuid, title text, content text, source_format text, file_name text) IS 'Changes a knowledge document''s title or content (owners and admins) and re-indexes it.';

-- Name: update_member_role_v1(uuid, uuid, public.membership_role); Type: FUNCTION; Schema: public

CREATE FUNCTION public.update_member_role_v1(organization_id uuid, user_id uuid, role public.membership_role) RETURNS public.memberships
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog'
    AS $$
declare
    caller_role public.membership_role;
    target public.memberships;
begin
    caller_role := private.lock_organization_for_member_change(update_member_role_v1.organization_id);
    if caller_role = 'agent' then
        raise sqlstate 'PT403' using message = 'only owners and admins can change roles';
    end if;

    select * into target from public.memberships as m
    where m.organization_id = update_member_role_v1.organization_id
      and m.user_id = update_member_role_v1.user_id
    for update;
    if not found then
        raise sqlstate 'PT404' using message = 'member not found';
    end if;

    if update_member_role_v1.role = 'owner' and caller_role <> 'owner' then
        raise sqlstate 'PT403' using message = 'only an owner can make someone an owner';
    end if;
    if target.role = 'owner' and caller_role <> 'owner' then
        raise sqlstate 'PT403' using message = 'only an owner can change an owner''s role';
    end if;
    if target.role = 'owner' and update_member_role_v1.role <> 'owner'
        and not private.has_another_owner(target.organization_id, target.user_id) then
        raise sqlstate 'PT409' using
            message = 'an organization must keep at least one owner',
            constraint = 'organizations_need_an_owner';
    end if;

    update public.memberships as m
    set role = update_member_role_v1.role
    where m.id = target.id
    returning * into target;
    return target;
end;
$$;

-- Name: FUNCTION update_member_role_v1(organization_id uuid, user_id uuid, role public.membership_role); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.update_member_role_v1(organization_id uuid, user_id uuid, role public.membership_role) IS 'Changes a member''s role under the role rules; PT403/PT404/PT409 say why not.';

-- Name: window_expires_at(public.conversations); Type: FUNCTION; Schema: public

CREATE FUNCTION public.window_expires_at(conversation public.conversations) RETURNS timestamp with time zone
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog'
    AS $$
begin
    -- The rule itself is private.window_end.
    return private.window_end(
        (select ch.kind from public.channels as ch where ch.id = conversation.channel_id),
        conversation.last_inbound_at
    );
end;
$$;

-- Name: FUNCTION window_expires_at(conversation public.conversations); Type: COMMENT; Schema: public

COMMENT ON FUNCTION public.window_expires_at(conversation public.conversations) IS 'When free-form replies stop being allowed (WhatsApp: 24 h after the last inbound message; SMS: never).';

-- Name: knowledge_portuguese; Type: TEXT SEARCH CONFIGURATION; Schema: private

CREATE TEXT SEARCH CONFIGURATION private.knowledge_portuguese (
    PARSER = pg_catalog."default" );

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR asciiword WITH portuguese_stem;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR word WITH extensions.unaccent, portuguese_stem;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR numword WITH simple;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR email WITH simple;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR url WITH simple;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR host WITH simple;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR sfloat WITH simple;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR version WITH simple;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR hword_numpart WITH simple;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR hword_part WITH extensions.unaccent, portuguese_stem;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR hword_asciipart WITH portuguese_stem;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR numhword WITH simple;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR asciihword WITH portuguese_stem;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR hword WITH extensions.unaccent, portuguese_stem;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR url_path WITH simple;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR file WITH simple;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR "float" WITH simple;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR "int" WITH simple;

ALTER TEXT SEARCH CONFIGURATION private.knowledge_portuguese
    ADD MAPPING FOR uint WITH simple;

-- Name: TEXT SEARCH CONFIGURATION knowledge_portuguese; Type: COMMENT; Schema: private

COMMENT ON TEXT SEARCH CONFIGURATION private.knowledge_portuguese IS 'Portuguese stemming with accents folded (unaccent first): the knowledge base''s full-text search.';

-- Name: account_tokens; Type: TABLE; Schema: private

CREATE TABLE private.account_tokens (
    token_hash text NOT NULL,
    user_id uuid NOT NULL,
    purpose text NOT NULL,
    email text NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    CONSTRAINT account_tokens_hash_format CHECK ((token_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT account_tokens_purpose CHECK ((purpose = ANY (ARRAY['verify_email'::text, 'reset_password'::text])))
);

-- Name: TABLE account_tokens; Type: COMMENT; Schema: private

COMMENT ON TABLE private.account_tokens IS 'E-mail verification and password reset tokens, by SHA-256 digest (hex); one use each.';

-- Name: channels; Type: TABLE; Schema: public

CREATE TABLE public.channels (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    kind public.channel_kind NOT NULL,
    phone_number text NOT NULL,
    display_name text,
    twilio_account_sid text NOT NULL,
    twilio_auth_token_ciphertext text NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    broadcast_rate_per_second numeric(7,2),
    CONSTRAINT channels_broadcast_rate_range CHECK (((broadcast_rate_per_second IS NULL) OR ((broadcast_rate_per_second >= 0.1) AND (broadcast_rate_per_second <= (400)::numeric)))),
    CONSTRAINT channels_display_name_length CHECK ((char_length(display_name) <= 120)),
    CONSTRAINT channels_phone_number_e164 CHECK ((phone_number ~ '^\+[1-9][0-9]{6,14}$'::text)),
    CONSTRAINT channels_twilio_account_sid_format CHECK ((twilio_account_sid ~ '^AC[0-9a-fA-F]{32}$'::text))
);

-- Name: TABLE channels; Type: COMMENT; Schema: public

COMMENT ON TABLE public.channels IS 'A Twilio WhatsApp sender or SMS number of an organization. Sharded, a reference table (a copy on every node): ingest finds a channel by its number before it knows the organization, and a number belongs to one organization across all of them.';

-- Name: COLUMN channels.broadcast_rate_per_second; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.channels.broadcast_rate_per_second IS 'Messages a second a broadcast sends through this channel; null: Twilio''s default for its kind (private.broadcast_rate).';

-- Name: conversations_with_window; Type: VIEW; Schema: private

CREATE VIEW private.conversations_with_window WITH (security_invoker='true') AS
 SELECT c.id,
    c.organization_id,
    c.channel_id,
    c.contact_id,
    c.status,
    c.ai_enabled,
    c.assignee_id,
    c.last_inbound_at,
    c.last_message_at,
    c.closed_at,
    c.created_at,
    private.window_end(ch.kind, c.last_inbound_at) AS window_expires_at
   FROM (public.conversations c
     LEFT JOIN public.channels ch ON ((ch.id = c.channel_id)));

-- Name: VIEW conversations_with_window; Type: COMMENT; Schema: private

COMMENT ON VIEW private.conversations_with_window IS 'A conversation as the API reads it, with window_expires_at; as the caller (security_invoker).';

-- Name: inbox_entries; Type: VIEW; Schema: private

CREATE VIEW private.inbox_entries WITH (security_invoker='true') AS
 SELECT c.id,
    c.organization_id,
    c.channel_id,
    c.contact_id,
    c.status,
    c.ai_enabled,
    c.assignee_id,
    c.last_inbound_at,
    c.last_message_at,
    c.closed_at,
    c.created_at,
    c.window_expires_at,
    ct.id AS contact__id,
    ct.organization_id AS contact__organization_id,
    ct.phone_number AS contact__phone_number,
    ct.profile_name AS contact__profile_name,
    ct.display_name AS contact__display_name,
    ct.opted_out_at AS contact__opted_out_at,
    ct.last_inbound_at AS contact__last_inbound_at,
    ct.created_at AS contact__created_at,
    lm.id AS last_message__id,
    lm.organization_id AS last_message__organization_id,
    lm.conversation_id AS last_message__conversation_id,
    lm.direction AS last_message__direction,
    lm.author AS last_message__author,
    lm.author_member_id AS last_message__author_member_id,
    lm.body AS last_message__body,
    (lm.media)::text AS last_message__media,
    lm.status AS last_message__status,
    lm.error_code AS last_message__error_code,
    lm.error_message AS last_message__error_message,
    lm.is_error AS last_message__is_error,
    lm.created_at AS last_message__created_at,
    lm.updated_at AS last_message__updated_at,
    lm.transcript AS last_message__transcript,
    (private.message_location(lm.metadata))::text AS last_message__location
   FROM ((private.conversations_with_window c
     LEFT JOIN public.contacts ct ON ((ct.id = c.contact_id)))
     LEFT JOIN LATERAL ( SELECT m.id,
            m.organization_id,
            m.conversation_id,
            m.direction,
            m.author,
            m.author_member_id,
            m.body,
            m.media,
            m.status,
            m.error_code,
            m.error_message,
            m.is_error,
            m.metadata,
            m.created_at,
            m.updated_at,
            m.transcript
           FROM public.messages m
          WHERE (m.conversation_id = c.id)
          ORDER BY m.created_at DESC, m.id DESC
         LIMIT 1) lm ON (true));

-- Name: VIEW inbox_entries; Type: COMMENT; Schema: private

COMMENT ON VIEW private.inbox_entries IS 'A conversation with its contact (contact__*) and newest message (last_message__*); as the caller.';

-- Name: mail_outbox; Type: TABLE; Schema: private

CREATE TABLE private.mail_outbox (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    recipient text NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    text text NOT NULL,
    html text NOT NULL,
    status text DEFAULT 'queued'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    sent_at timestamp with time zone,
    CONSTRAINT mail_outbox_attempts CHECK ((attempts >= 0)),
    CONSTRAINT mail_outbox_kind CHECK ((kind ~ '^[a-z][a-z0-9_]*$'::text)),
    CONSTRAINT mail_outbox_recipient CHECK ((recipient ~ '^[^@\s]+@[^@\s]+$'::text)),
    CONSTRAINT mail_outbox_sent_at CHECK (((status = 'sent'::text) = (sent_at IS NOT NULL))),
    CONSTRAINT mail_outbox_status CHECK ((status = ANY (ARRAY['queued'::text, 'sent'::text, 'failed'::text])))
);

-- Name: TABLE mail_outbox; Type: COMMENT; Schema: private

COMMENT ON TABLE private.mail_outbox IS 'Mails to send, rendered; mail:send_mail sends each and records the outcome.';

-- Name: COLUMN mail_outbox.text; Type: COMMENT; Schema: private

COMMENT ON COLUMN private.mail_outbox.text IS 'The plain-text part; may hold a one-time link: never logged.';

-- Name: COLUMN mail_outbox.last_error; Type: COMMENT; Schema: private

COMMENT ON COLUMN private.mail_outbox.last_error IS 'The last failure, as the SMTP server or the network said it (never the SMTP password).';

-- Name: media_deletions; Type: TABLE; Schema: private

CREATE TABLE private.media_deletions (
    id bigint NOT NULL,
    organization_id uuid NOT NULL,
    storage_key text NOT NULL,
    queued_at timestamp with time zone DEFAULT now() NOT NULL
);

-- Name: TABLE media_deletions; Type: COMMENT; Schema: private

COMMENT ON TABLE private.media_deletions IS 'Files in media storage whose messages are gone: the job conversations:delete_media_files removes them after the commit that queued them.';

-- Name: media_deletions_id_seq; Type: SEQUENCE; Schema: private

ALTER TABLE private.media_deletions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME private.media_deletions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

-- Name: message_broadcast_recipients; Type: TABLE; Schema: private

CREATE TABLE private.message_broadcast_recipients (
    broadcast_recipient text NOT NULL,
    organization_id uuid NOT NULL,
    message_id uuid NOT NULL,
    message_created_at timestamp with time zone NOT NULL
);

-- Name: TABLE message_broadcast_recipients; Type: COMMENT; Schema: private

COMMENT ON TABLE private.message_broadcast_recipients IS 'One message per broadcast and contact (metadata.broadcast_recipient, "<broadcast>:<contact>"), whatever happens to the broadcast job: the judge public.messages cannot hold across partitions. Claimed and forgotten with the message, as private.message_sids.';

-- Name: message_sids; Type: TABLE; Schema: private

CREATE TABLE private.message_sids (
    message_sid text NOT NULL,
    organization_id uuid NOT NULL,
    message_id uuid NOT NULL,
    message_created_at timestamp with time zone NOT NULL
);

-- Name: TABLE message_sids; Type: COMMENT; Schema: private

COMMENT ON TABLE private.message_sids IS 'Each Twilio message sid Atende stored (inbound, and outbound once Twilio accepted the first part), once: the webhook idempotency judge across partitions of public.messages (a unique index there would have to include created_at). Claimed by the trigger tg_messages__claim_keys in the statement that stores the message; gone with it (tg_messages__forget). Lookups by sid read message_created_at to reach one partition.';

-- Name: rate_limit_counters; Type: TABLE; Schema: private

CREATE TABLE private.rate_limit_counters (
    action text NOT NULL,
    key text NOT NULL,
    window_start timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    attempts integer NOT NULL,
    CONSTRAINT rate_limit_counters_attempts_positive CHECK ((attempts > 0))
);

-- Name: TABLE rate_limit_counters; Type: COMMENT; Schema: private

COMMENT ON TABLE private.rate_limit_counters IS 'Attempts per action, key (a digest) and fixed window; purged once expired.';

-- Name: refresh_tokens; Type: TABLE; Schema: private

CREATE TABLE private.refresh_tokens (
    token_hash text NOT NULL,
    session_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    rotated_at timestamp with time zone,
    CONSTRAINT refresh_tokens_hash_format CHECK ((token_hash ~ '^[0-9a-f]{64}$'::text))
);

-- Name: TABLE refresh_tokens; Type: COMMENT; Schema: private

COMMENT ON TABLE private.refresh_tokens IS 'Refresh tokens by SHA-256 digest (hex); rotated_at is set when traded for a new one.';

-- Name: COLUMN refresh_tokens.token_hash; Type: COMMENT; Schema: private

COMMENT ON COLUMN private.refresh_tokens.token_hash IS 'encode(sha256(token), ''hex''): the token itself is never stored.';

-- Name: sessions; Type: TABLE; Schema: private

CREATE TABLE private.sessions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    refreshed_at timestamp with time zone,
    revoked_at timestamp with time zone,
    revoked_reason text,
    CONSTRAINT sessions_revoked_reason CHECK ((((revoked_at IS NULL) = (revoked_reason IS NULL)) AND (revoked_reason = ANY (ARRAY['sign_out'::text, 'refresh_token_reuse'::text, 'password_change'::text]))))
);

-- Name: TABLE sessions; Type: COMMENT; Schema: private

COMMENT ON TABLE private.sessions IS 'A signed-in device: the refresh tokens it traded belong to it.';

-- Name: agents; Type: TABLE; Schema: public

CREATE TABLE public.agents (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    name text DEFAULT 'Assistente'::text NOT NULL,
    system_prompt text DEFAULT 'Você é o assistente virtual desta empresa no WhatsApp. Responda em português do Brasil, com cordialidade e em poucas frases. Se não souber a resposta ou se o cliente pedir, transfira a conversa para um atendente humano.'::text NOT NULL,
    model text DEFAULT 'gpt-4o-mini'::text NOT NULL,
    temperature numeric(3,2) DEFAULT 0.3 NOT NULL,
    history_messages integer DEFAULT 20 NOT NULL,
    history_tokens integer,
    debounce_seconds integer DEFAULT 3 NOT NULL,
    fallback_message text DEFAULT 'Desculpe, estamos com dificuldades técnicas no momento. Um atendente vai te responder em breve.'::text NOT NULL,
    handoff_message text DEFAULT 'Certo! Vou chamar um atendente da nossa equipe, que vai te responder em breve.'::text NOT NULL,
    inactivity_hours integer DEFAULT 24 NOT NULL,
    follow_up_message text,
    follow_up_after_minutes integer,
    ai_enabled boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    knowledge_enabled boolean DEFAULT true NOT NULL,
    knowledge_passages integer DEFAULT 4 NOT NULL,
    answer_only_from_knowledge boolean DEFAULT false NOT NULL,
    follow_up_template_id uuid,
    vision_enabled boolean DEFAULT false NOT NULL,
    CONSTRAINT agents_debounce_seconds_range CHECK (((debounce_seconds >= 0) AND (debounce_seconds <= 120))),
    CONSTRAINT agents_fallback_message_length CHECK (((char_length(btrim(fallback_message)) >= 1) AND (char_length(btrim(fallback_message)) <= 1600))),
    CONSTRAINT agents_follow_up_after_minutes_range CHECK (((follow_up_after_minutes >= 5) AND (follow_up_after_minutes <= 1380))),
    CONSTRAINT agents_follow_up_pair CHECK (((follow_up_message IS NULL) = (follow_up_after_minutes IS NULL))),
    CONSTRAINT agents_handoff_message_length CHECK (((char_length(btrim(handoff_message)) >= 1) AND (char_length(btrim(handoff_message)) <= 1600))),
    CONSTRAINT agents_history_messages_range CHECK (((history_messages >= 1) AND (history_messages <= 200))),
    CONSTRAINT agents_history_tokens_range CHECK (((history_tokens >= 100) AND (history_tokens <= 200000))),
    CONSTRAINT agents_inactivity_hours_range CHECK (((inactivity_hours >= 1) AND (inactivity_hours <= 720))),
    CONSTRAINT agents_knowledge_passages_range CHECK (((knowledge_passages >= 1) AND (knowledge_passages <= 10))),
    CONSTRAINT agents_model_format CHECK ((model ~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$'::text)),
    CONSTRAINT agents_name_length CHECK (((char_length(btrim(name)) >= 1) AND (char_length(btrim(name)) <= 80))),
    CONSTRAINT agents_system_prompt_length CHECK (((char_length(btrim(system_prompt)) >= 1) AND (char_length(btrim(system_prompt)) <= 20000))),
    CONSTRAINT agents_temperature_range CHECK (((temperature >= (0)::numeric) AND (temperature <= (2)::numeric)))
);

-- Name: TABLE agents; Type: COMMENT; Schema: public

COMMENT ON TABLE public.agents IS 'The AI assistant of an organization: its voice, model and manners.';

-- Name: COLUMN agents.debounce_seconds; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.agents.debounce_seconds IS 'How long to wait after a customer message for more before answering them all at once.';

-- Name: COLUMN agents.follow_up_after_minutes; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.agents.follow_up_after_minutes IS 'Send follow_up_message once when the customer went quiet this long inside the window.';

-- Name: COLUMN agents.knowledge_enabled; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.agents.knowledge_enabled IS 'Whether the reply job retrieves knowledge passages for the model request.';

-- Name: COLUMN agents.knowledge_passages; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.agents.knowledge_passages IS 'How many passages at most go into the model request (1 to 10).';

-- Name: COLUMN agents.answer_only_from_knowledge; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.agents.answer_only_from_knowledge IS 'When no passage is relevant, say the team will check and hand the conversation over.';

-- Name: COLUMN agents.follow_up_template_id; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.agents.follow_up_template_id IS 'The approved template (without variables) sent as the follow-up when it falls due outside WhatsApp''s 24-hour window; null: such follow-ups are skipped.';

-- Name: COLUMN agents.vision_enabled; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.agents.vision_enabled IS 'Whether the model is sent the customer''s images and stickers (a model that accepts images); otherwise it is told in words that an image was sent.';

-- Name: ai_runs; Type: TABLE; Schema: public

CREATE TABLE public.ai_runs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    conversation_id uuid NOT NULL,
    message_id uuid,
    model text NOT NULL,
    prompt_tokens integer DEFAULT 0 NOT NULL,
    completion_tokens integer DEFAULT 0 NOT NULL,
    latency_ms integer DEFAULT 0 NOT NULL,
    outcome text NOT NULL,
    error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    knowledge_sources jsonb,
    CONSTRAINT ai_runs_latency_not_negative CHECK ((latency_ms >= 0)),
    CONSTRAINT ai_runs_outcome CHECK ((outcome = ANY (ARRAY['replied'::text, 'handoff'::text, 'fallback'::text, 'retrying'::text, 'skipped'::text]))),
    CONSTRAINT ai_runs_tokens_not_negative CHECK (((prompt_tokens >= 0) AND (completion_tokens >= 0)))
);

-- Name: TABLE ai_runs; Type: COMMENT; Schema: public

COMMENT ON TABLE public.ai_runs IS 'Each attempt of the AI to answer a conversation: model, tokens, latency, outcome.';

-- Name: COLUMN ai_runs.knowledge_sources; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.ai_runs.knowledge_sources IS 'The knowledge passages the model request carried: [{passage_id, document_id, title, text, score}].';

-- Name: api_keys; Type: TABLE; Schema: public

CREATE TABLE public.api_keys (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    name text NOT NULL,
    role public.membership_role NOT NULL,
    prefix text NOT NULL,
    secret_digest text NOT NULL,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    revoked_by uuid,
    CONSTRAINT api_keys_name_length CHECK (((char_length(btrim(name)) >= 1) AND (char_length(btrim(name)) <= 100))),
    CONSTRAINT api_keys_prefix_format CHECK ((prefix ~ '^atende_[A-Za-z0-9_-]{8}$'::text)),
    CONSTRAINT api_keys_revoked_by_needs_revoked_at CHECK (((revoked_by IS NULL) OR (revoked_at IS NOT NULL))),
    CONSTRAINT api_keys_secret_digest_format CHECK ((secret_digest ~ '^[0-9a-f]{64}$'::text))
);

-- Name: TABLE api_keys; Type: COMMENT; Schema: public

COMMENT ON TABLE public.api_keys IS 'Credentials for an organization''s own systems: each acts in its organization with its role, under the same row-level security as a member, until revoked. Sharded, a reference table (a copy on every node): a request finds its key by the secret''s digest before it knows the organization.';

-- Name: COLUMN api_keys.prefix; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.api_keys.prefix IS 'The secret''s first 15 characters (atende_ and 8 more): how the team recognises a key.';

-- Name: COLUMN api_keys.secret_digest; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.api_keys.secret_digest IS 'SHA-256 (hex) of the secret, which is shown once and never stored: never readable by clients.';

-- Name: COLUMN api_keys.last_used_at; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.api_keys.last_used_at IS 'When the key was last used, to the minute (the API records uses in batches, not per request).';

-- Name: broadcast_recipients; Type: TABLE; Schema: public

CREATE TABLE public.broadcast_recipients (
    broadcast_id uuid NOT NULL,
    contact_id uuid NOT NULL,
    organization_id uuid NOT NULL,
    "position" integer NOT NULL,
    status public.broadcast_recipient_status DEFAULT 'queued'::public.broadcast_recipient_status NOT NULL,
    reason text,
    conversation_id uuid,
    message_id uuid,
    handled_at timestamp with time zone,
    CONSTRAINT broadcast_recipients_reason_length CHECK ((char_length(reason) <= 200))
);

-- Name: TABLE broadcast_recipients; Type: COMMENT; Schema: public

COMMENT ON TABLE public.broadcast_recipients IS 'Each contact of a broadcast: queued, sent (its message), skipped, failed or cancelled, with the reason.';

-- Name: broadcasts; Type: TABLE; Schema: public

CREATE TABLE public.broadcasts (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    channel_id uuid NOT NULL,
    template_id uuid,
    content_sid text NOT NULL,
    template_name text NOT NULL,
    variables jsonb DEFAULT '{}'::jsonb NOT NULL,
    body text DEFAULT ''::text NOT NULL,
    rate_per_second numeric(7,2) NOT NULL,
    status public.broadcast_status DEFAULT 'sending'::public.broadcast_status NOT NULL,
    total integer NOT NULL,
    created_by uuid,
    api_key_id uuid,
    next_batch_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    CONSTRAINT broadcasts_rate_range CHECK (((rate_per_second >= 0.1) AND (rate_per_second <= (400)::numeric))),
    CONSTRAINT broadcasts_total_positive CHECK ((total > 0)),
    CONSTRAINT broadcasts_variables_is_object CHECK ((jsonb_typeof(variables) = 'object'::text))
);

-- Name: TABLE broadcasts; Type: COMMENT; Schema: public

COMMENT ON TABLE public.broadcasts IS 'One approved template sent to many contacts of a channel, paced at the channel''s rate.';

-- Name: contact_imports; Type: TABLE; Schema: public

CREATE TABLE public.contact_imports (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    created_by uuid,
    file_name text,
    status text DEFAULT 'pending'::text NOT NULL,
    total_rows integer NOT NULL,
    checked_rows integer DEFAULT 0 NOT NULL,
    written_rows integer DEFAULT 0 NOT NULL,
    created_count integer DEFAULT 0 NOT NULL,
    updated_count integer DEFAULT 0 NOT NULL,
    refused_count integer DEFAULT 0 NOT NULL,
    refusals jsonb DEFAULT '[]'::jsonb NOT NULL,
    error text,
    source text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    CONSTRAINT contact_imports_counts CHECK (((total_rows >= 0) AND ((checked_rows >= 0) AND (checked_rows <= total_rows)) AND ((written_rows >= 0) AND (written_rows <= total_rows)) AND (created_count >= 0) AND (updated_count >= 0) AND (refused_count >= 0))),
    CONSTRAINT contact_imports_error_length CHECK ((char_length(error) <= 1000)),
    CONSTRAINT contact_imports_file_name_length CHECK ((char_length(file_name) <= 255)),
    CONSTRAINT contact_imports_finished CHECK (((status = ANY (ARRAY['succeeded'::text, 'refused'::text, 'failed'::text])) = (finished_at IS NOT NULL))),
    CONSTRAINT contact_imports_refusals_array CHECK ((jsonb_typeof(refusals) = 'array'::text)),
    CONSTRAINT contact_imports_status_known CHECK ((status = ANY (ARRAY['pending'::text, 'checking'::text, 'writing'::text, 'succeeded'::text, 'refused'::text, 'failed'::text])))
);

-- Name: TABLE contact_imports; Type: COMMENT; Schema: public

COMMENT ON TABLE public.contact_imports IS 'A CSV file of contacts being imported: all its rows are written, or none, by contacts:import_contacts.';

-- Name: COLUMN contact_imports.source; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.contact_imports.source IS 'The file''s text until the import finishes; never readable by clients.';

-- Name: conversation_reads; Type: TABLE; Schema: public

CREATE TABLE public.conversation_reads (
    organization_id uuid NOT NULL,
    conversation_id uuid NOT NULL,
    user_id uuid NOT NULL,
    last_read_at timestamp with time zone DEFAULT now() NOT NULL
);

-- Name: TABLE conversation_reads; Type: COMMENT; Schema: public

COMMENT ON TABLE public.conversation_reads IS 'Where each member stopped reading a conversation: unread = inbound messages after last_read_at.';

-- Name: knowledge_documents; Type: TABLE; Schema: public

CREATE TABLE public.knowledge_documents (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    title text NOT NULL,
    content text NOT NULL,
    source_format text DEFAULT 'text'::text NOT NULL,
    file_name text,
    status text DEFAULT 'pending'::text NOT NULL,
    error text,
    chunk_count integer DEFAULT 0 NOT NULL,
    embedder text,
    revision integer DEFAULT 1 NOT NULL,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    indexed_at timestamp with time zone,
    CONSTRAINT knowledge_documents_chunk_count_not_negative CHECK ((chunk_count >= 0)),
    CONSTRAINT knowledge_documents_content_length CHECK ((octet_length(content) <= 2000000)),
    CONSTRAINT knowledge_documents_content_not_blank CHECK ((btrim(content) <> ''::text)),
    CONSTRAINT knowledge_documents_error_when_failed CHECK (((status = 'failed'::text) = (error IS NOT NULL))),
    CONSTRAINT knowledge_documents_source_format CHECK ((source_format = ANY (ARRAY['text'::text, 'markdown'::text, 'pdf'::text, 'html'::text]))),
    CONSTRAINT knowledge_documents_status CHECK ((status = ANY (ARRAY['pending'::text, 'ready'::text, 'failed'::text]))),
    CONSTRAINT knowledge_documents_title_length CHECK (((char_length(btrim(title)) >= 1) AND (char_length(btrim(title)) <= 200)))
);

-- Name: TABLE knowledge_documents; Type: COMMENT; Schema: public

COMMENT ON TABLE public.knowledge_documents IS 'A business''s documents the assistant answers from; indexed into knowledge_passages by a job.';

-- Name: knowledge_passages; Type: TABLE; Schema: public

CREATE TABLE public.knowledge_passages (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    document_id uuid NOT NULL,
    "position" integer NOT NULL,
    heading text DEFAULT ''::text NOT NULL,
    content text NOT NULL,
    search_vector tsvector GENERATED ALWAYS AS ((setweight(to_tsvector('private.knowledge_portuguese'::regconfig, heading), 'A'::"char") || to_tsvector('private.knowledge_portuguese'::regconfig, content))) STORED,
    embedder text NOT NULL,
    dimensions integer NOT NULL,
    embedding extensions.vector NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    embedding_half extensions.halfvec GENERATED ALWAYS AS (
CASE
    WHEN (dimensions <= 1024) THEN (embedding)::extensions.halfvec
    ELSE NULL::extensions.halfvec
END) STORED,
    CONSTRAINT knowledge_passages_content_not_blank CHECK ((btrim(content) <> ''::text)),
    CONSTRAINT knowledge_passages_dimensions CHECK ((((dimensions >= 1) AND (dimensions <= 16000)) AND (extensions.vector_dims(embedding) = dimensions)))
)
WITH (autovacuum_vacuum_insert_scale_factor='0.02');

-- Name: TABLE knowledge_passages; Type: COMMENT; Schema: public

COMMENT ON TABLE public.knowledge_passages IS 'Passages of knowledge documents with their full-text and embedding vectors, searched together.';

-- Name: COLUMN knowledge_passages.embedding_half; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.knowledge_passages.embedding_half IS 'The embedding in half precision (up to 1,024 dimensions), for the covering index the search scans.';

-- Name: profiles; Type: TABLE; Schema: public

CREATE TABLE public.profiles (
    id uuid NOT NULL,
    email text NOT NULL,
    full_name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    email_verified_at timestamp with time zone,
    CONSTRAINT profiles_email_format CHECK ((email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'::text)),
    CONSTRAINT profiles_full_name_length CHECK (((char_length(btrim(full_name)) >= 1) AND (char_length(btrim(full_name)) <= 200)))
);

-- Name: TABLE profiles; Type: COMMENT; Schema: public

COMMENT ON TABLE public.profiles IS 'One row per auth.users row: what the team sees of a person.';

-- Name: COLUMN profiles.email_verified_at; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.profiles.email_verified_at IS 'When the person proved they read this address (a verification, invitation or reset link); null until then. An unverified account joins no organization but its own.';

-- Name: scheduled_messages; Type: TABLE; Schema: public

CREATE TABLE public.scheduled_messages (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    conversation_id uuid NOT NULL,
    body text,
    template_id uuid,
    template_name text,
    variables jsonb DEFAULT '{}'::jsonb NOT NULL,
    send_at timestamp with time zone NOT NULL,
    status public.scheduled_message_status DEFAULT 'scheduled'::public.scheduled_message_status NOT NULL,
    reason text,
    created_by uuid,
    created_by_api_key uuid,
    message_id uuid,
    job_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    processed_at timestamp with time zone,
    CONSTRAINT scheduled_messages_body_length CHECK (((body IS NULL) OR ((char_length(btrim(body)) >= 1) AND (char_length(btrim(body)) <= 4096)))),
    CONSTRAINT scheduled_messages_content CHECK (((body IS NOT NULL) <> (template_name IS NOT NULL))),
    CONSTRAINT scheduled_messages_reason CHECK (((status = ANY (ARRAY['skipped'::public.scheduled_message_status, 'failed'::public.scheduled_message_status])) = (reason IS NOT NULL))),
    CONSTRAINT scheduled_messages_send_at_horizon CHECK (((send_at > created_at) AND (send_at <= (created_at + '90 days'::interval)))),
    CONSTRAINT scheduled_messages_sent_message CHECK (((status <> 'sent'::public.scheduled_message_status) OR (processed_at IS NOT NULL))),
    CONSTRAINT scheduled_messages_variables_object CHECK ((jsonb_typeof(variables) = 'object'::text))
);

-- Name: TABLE scheduled_messages; Type: COMMENT; Schema: public

COMMENT ON TABLE public.scheduled_messages IS 'Messages the team scheduled for later (free text or a template): each is sent once, at send_at, by its job, if the rules still allow it then.';

-- Name: COLUMN scheduled_messages.reason; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.scheduled_messages.reason IS 'Why it was skipped or failed: contact_opted_out, channel_disabled, outside_customer_service_window, conversation_closed, template_not_found, template_variables_invalid; or, in words, that its send job stopped with its worker N times (given up by the stalled-job sweep; GraphQL''s STALLED_JOB).';

-- Name: COLUMN scheduled_messages.message_id; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.scheduled_messages.message_id IS 'The outbound message it became, once sent (its delivery status is the message''s).';

-- Name: COLUMN scheduled_messages.job_id; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.scheduled_messages.job_id IS 'The Procrastinate job due at send_at (deleted when the message is cancelled).';

-- Name: usage_counters; Type: TABLE; Schema: public

CREATE TABLE public.usage_counters (
    organization_id uuid NOT NULL,
    id bigint NOT NULL,
    hour timestamp with time zone NOT NULL,
    conversation_id uuid,
    messages_in integer DEFAULT 0 NOT NULL,
    messages_out integer DEFAULT 0 NOT NULL,
    ai_replies integer DEFAULT 0 NOT NULL,
    fallbacks integer DEFAULT 0 NOT NULL,
    tokens_in bigint DEFAULT 0 NOT NULL,
    tokens_out bigint DEFAULT 0 NOT NULL
);

-- Name: TABLE usage_counters; Type: COMMENT; Schema: public

COMMENT ON TABLE public.usage_counters IS 'What Organization.usage counts, per organization, UTC hour and conversation (message rows) or none (AI runs'' tokens); never deleted with messages. Rows are deltas: sum them.';

-- Name: usage_counters_id_seq; Type: SEQUENCE; Schema: public

ALTER TABLE public.usage_counters ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.usage_counters_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

-- Name: webhook_deliveries; Type: TABLE; Schema: public

CREATE TABLE public.webhook_deliveries (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    endpoint_id uuid NOT NULL,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    last_attempt_at timestamp with time zone,
    last_status_code integer,
    last_duration_ms integer,
    last_error text,
    next_attempt_at timestamp with time zone,
    delivered_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT webhook_deliveries_attempts CHECK ((attempts >= 0)),
    CONSTRAINT webhook_deliveries_delivered_at CHECK (((status = 'delivered'::text) = (delivered_at IS NOT NULL))),
    CONSTRAINT webhook_deliveries_status CHECK ((status = ANY (ARRAY['pending'::text, 'delivered'::text, 'failed'::text])))
);

-- Name: TABLE webhook_deliveries; Type: COMMENT; Schema: public

COMMENT ON TABLE public.webhook_deliveries IS 'One event for one endpoint: its payload, fixed when recorded, and how its delivery went. Its id is the webhook-id the receiver deduplicates by.';

-- Name: COLUMN webhook_deliveries.last_error; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.webhook_deliveries.last_error IS 'Why the last attempt failed, in words (a timeout, a refused address, the status); never the response body.';

-- Name: webhook_delivery_attempts; Type: TABLE; Schema: public

CREATE TABLE public.webhook_delivery_attempts (
    id bigint NOT NULL,
    organization_id uuid NOT NULL,
    delivery_id uuid NOT NULL,
    attempt integer NOT NULL,
    status_code integer,
    duration_ms integer,
    error text,
    attempted_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT webhook_delivery_attempts_attempt CHECK ((attempt >= 1)),
    CONSTRAINT webhook_delivery_attempts_duration CHECK (((duration_ms IS NULL) OR (duration_ms >= 0))),
    CONSTRAINT webhook_delivery_attempts_error CHECK ((char_length(error) <= 500))
);

-- Name: TABLE webhook_delivery_attempts; Type: COMMENT; Schema: public

COMMENT ON TABLE public.webhook_delivery_attempts IS 'Each attempt to post a webhook delivery: when, the receiver''s status, how long, why it failed. Purged after a retention period by the webhooks'' upkeep.';

-- Name: COLUMN webhook_delivery_attempts.error; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.webhook_delivery_attempts.error IS 'Why the attempt failed, in words (a timeout, a refused address, the status); never the response body.';

-- Name: webhook_delivery_attempts_id_seq; Type: SEQUENCE; Schema: public

ALTER TABLE public.webhook_delivery_attempts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_delivery_attempts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

-- Name: webhook_endpoints; Type: TABLE; Schema: public

CREATE TABLE public.webhook_endpoints (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    url text NOT NULL,
    events text[] NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    secret_ciphertext text NOT NULL,
    disabled_reason text,
    failing_since timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    owners_notified_at timestamp with time zone,
    CONSTRAINT webhook_endpoints_disabled_reason CHECK (((disabled_reason IS NULL) OR ((NOT enabled) AND (disabled_reason = 'failing'::text)))),
    CONSTRAINT webhook_endpoints_events_valid CHECK ((((cardinality(events) >= 1) AND (cardinality(events) <= 20)) AND (events <@ private.webhook_event_types()))),
    CONSTRAINT webhook_endpoints_url_format CHECK (((url ~ '^https?://[^\s/?#@]+([/?#]\S*)?$'::text) AND (char_length(url) <= 2000)))
);

-- Name: TABLE webhook_endpoints; Type: COMMENT; Schema: public

COMMENT ON TABLE public.webhook_endpoints IS 'Where an organization''s own systems want to hear of its events (signed POSTs).';

-- Name: COLUMN webhook_endpoints.secret_ciphertext; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.webhook_endpoints.secret_ciphertext IS 'The whsec_ signing secret, encrypted with ATENDE_SECRET_KEY: written by clients, never read.';

-- Name: COLUMN webhook_endpoints.owners_notified_at; Type: COMMENT; Schema: public

COMMENT ON COLUMN public.webhook_endpoints.owners_notified_at IS 'When the owners were mailed that Atende disabled the endpoint; cleared when it is enabled.';

-- Name: account_tokens account_tokens_pkey; Type: CONSTRAINT; Schema: private

ALTER TABLE ONLY private.account_tokens
    ADD CONSTRAINT account_tokens_pkey PRIMARY KEY (token_hash);

-- Name: mail_outbox mail_outbox_pkey; Type: CONSTRAINT; Schema: private

ALTER TABLE ONLY private.mail_outbox
    ADD CONSTRAINT mail_outbox_pkey PRIMARY KEY (id);

-- Name: media_deletions media_deletions_pkey; Type: CONSTRAINT; Schema: private

ALTER TABLE ONLY private.media_deletions
    ADD CONSTRAINT media_deletions_pkey PRIMARY KEY (id);

-- Name: message_broadcast_recipients messages_broadcast_recipient_key; Type: CONSTRAINT; Schema: private

ALTER TABLE ONLY private.message_broadcast_recipients
    ADD CONSTRAINT messages_broadcast_recipient_key PRIMARY KEY (broadcast_recipient);

-- Name: message_sids messages_message_sid_key; Type: CONSTRAINT; Schema: private

ALTER TABLE ONLY private.message_sids
    ADD CONSTRAINT messages_message_sid_key PRIMARY KEY (message_sid);

-- Name: pending_users pending_users_pkey; Type: CONSTRAINT; Schema: private

ALTER TABLE ONLY private.pending_users
    ADD CONSTRAINT pending_users_pkey PRIMARY KEY (user_id);

-- Name: rate_limit_counters rate_limit_counters_pkey; Type: CONSTRAINT; Schema: private

ALTER TABLE ONLY private.rate_limit_counters
    ADD CONSTRAINT rate_limit_counters_pkey PRIMARY KEY (action, key, window_start);

-- Name: refresh_tokens refresh_tokens_pkey; Type: CONSTRAINT; Schema: private

ALTER TABLE ONLY private.refresh_tokens
    ADD CONSTRAINT refresh_tokens_pkey PRIMARY KEY (token_hash);

-- Name: sessions sessions_pkey; Type: CONSTRAINT; Schema: private

ALTER TABLE ONLY private.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id);

-- Name: agents agents_organization_id_key; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT agents_organization_id_key UNIQUE (organization_id);

-- Name: agents agents_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT agents_pkey PRIMARY KEY (id, organization_id);

-- Name: ai_runs ai_runs_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.ai_runs
    ADD CONSTRAINT ai_runs_pkey PRIMARY KEY (id, organization_id);

-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id, organization_id);

-- Name: broadcast_recipients broadcast_recipients_message_key; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.broadcast_recipients
    ADD CONSTRAINT broadcast_recipients_message_key UNIQUE (message_id, organization_id);

-- Name: broadcast_recipients broadcast_recipients_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.broadcast_recipients
    ADD CONSTRAINT broadcast_recipients_pkey PRIMARY KEY (broadcast_id, contact_id, organization_id);

-- Name: broadcast_recipients broadcast_recipients_position_key; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.broadcast_recipients
    ADD CONSTRAINT broadcast_recipients_position_key UNIQUE (broadcast_id, "position", organization_id);

-- Name: broadcasts broadcasts_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.broadcasts
    ADD CONSTRAINT broadcasts_pkey PRIMARY KEY (id, organization_id);

-- Name: channel_templates channel_templates_channel_name_language_key; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.channel_templates
    ADD CONSTRAINT channel_templates_channel_name_language_key UNIQUE (channel_id, name, language, organization_id);

-- Name: channel_templates channel_templates_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.channel_templates
    ADD CONSTRAINT channel_templates_pkey PRIMARY KEY (id, organization_id);

-- Name: channels channels_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.channels
    ADD CONSTRAINT channels_pkey PRIMARY KEY (id, organization_id);

-- Name: channels channels_twilio_account_sid_kind_phone_number_key; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.channels
    ADD CONSTRAINT channels_twilio_account_sid_kind_phone_number_key UNIQUE (twilio_account_sid, kind, phone_number);

-- Name: CONSTRAINT channels_twilio_account_sid_kind_phone_number_key ON channels; Type: COMMENT; Schema: public

COMMENT ON CONSTRAINT channels_twilio_account_sid_kind_phone_number_key ON public.channels IS 'One channel per Twilio account, kind and number; accounts may share the Sandbox number.';

-- Name: contact_erasures contact_erasures_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.contact_erasures
    ADD CONSTRAINT contact_erasures_pkey PRIMARY KEY (organization_id, id);

-- Name: contact_imports contact_imports_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.contact_imports
    ADD CONSTRAINT contact_imports_pkey PRIMARY KEY (id, organization_id);

-- Name: contacts contacts_organization_phone_number_key; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_organization_phone_number_key UNIQUE (organization_id, phone_number);

-- Name: contacts contacts_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_pkey PRIMARY KEY (id, organization_id);

-- Name: conversation_reads conversation_reads_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.conversation_reads
    ADD CONSTRAINT conversation_reads_pkey PRIMARY KEY (conversation_id, user_id, organization_id);

-- Name: conversations conversations_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_pkey PRIMARY KEY (id, organization_id);

-- Name: invitations invitations_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_pkey PRIMARY KEY (id, organization_id);

-- Name: invitations invitations_token_hash_key; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_token_hash_key UNIQUE (token_hash, organization_id);

-- Name: knowledge_documents knowledge_documents_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.knowledge_documents
    ADD CONSTRAINT knowledge_documents_pkey PRIMARY KEY (id, organization_id);

-- Name: knowledge_passages knowledge_passages_document_position_key; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.knowledge_passages
    ADD CONSTRAINT knowledge_passages_document_position_key UNIQUE (document_id, "position", organization_id);

-- Name: knowledge_passages knowledge_passages_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.knowledge_passages
    ADD CONSTRAINT knowledge_passages_pkey PRIMARY KEY (id, organization_id);

-- Name: memberships memberships_organization_user_key; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT memberships_organization_user_key UNIQUE (organization_id, user_id);

-- Name: memberships memberships_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT memberships_pkey PRIMARY KEY (id, organization_id);

-- Name: messages messages_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_pkey PRIMARY KEY (id, organization_id, created_at);

-- Name: organizations organizations_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.organizations
    ADD CONSTRAINT organizations_pkey PRIMARY KEY (id);

-- Name: profiles profiles_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.profiles
    ADD CONSTRAINT profiles_pkey PRIMARY KEY (id);

-- Name: scheduled_messages scheduled_messages_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.scheduled_messages
    ADD CONSTRAINT scheduled_messages_pkey PRIMARY KEY (id, organization_id);

-- Name: usage_counters usage_counters_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.usage_counters
    ADD CONSTRAINT usage_counters_pkey PRIMARY KEY (organization_id, id);

-- Name: webhook_deliveries webhook_deliveries_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id, organization_id);

-- Name: webhook_delivery_attempts webhook_delivery_attempts_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.webhook_delivery_attempts
    ADD CONSTRAINT webhook_delivery_attempts_pkey PRIMARY KEY (id, organization_id);

-- Name: webhook_endpoints webhook_endpoints_pkey; Type: CONSTRAINT; Schema: public

ALTER TABLE ONLY public.webhook_endpoints
    ADD CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id, organization_id);

-- Name: account_tokens_expires_at_idx; Type: INDEX; Schema: private

CREATE INDEX account_tokens_expires_at_idx ON private.account_tokens USING btree (expires_at);

-- Name: account_tokens_user_id_purpose_idx; Type: INDEX; Schema: private

CREATE INDEX account_tokens_user_id_purpose_idx ON private.account_tokens USING btree (user_id, purpose);

-- Name: mail_outbox_unsent_idx; Type: INDEX; Schema: private

CREATE INDEX mail_outbox_unsent_idx ON private.mail_outbox USING btree (created_at) WHERE (status <> 'sent'::text);

-- Name: pending_users_created_at_idx; Type: INDEX; Schema: private

CREATE INDEX pending_users_created_at_idx ON private.pending_users USING btree (created_at);

-- Name: pending_users_email_key; Type: INDEX; Schema: private

CREATE UNIQUE INDEX pending_users_email_key ON private.pending_users USING btree (email) WHERE (abandoned_at IS NULL);

-- Name: rate_limit_counters_expires_at_idx; Type: INDEX; Schema: private

CREATE INDEX rate_limit_counters_expires_at_idx ON private.rate_limit_counters USING btree (expires_at);

-- Name: refresh_tokens_expires_at_idx; Type: INDEX; Schema: private

CREATE INDEX refresh_tokens_expires_at_idx ON private.refresh_tokens USING btree (expires_at);

-- Name: refresh_tokens_session_id_idx; Type: INDEX; Schema: private

CREATE INDEX refresh_tokens_session_id_idx ON private.refresh_tokens USING btree (session_id);

-- Name: sessions_user_id_idx; Type: INDEX; Schema: private

CREATE INDEX sessions_user_id_idx ON private.sessions USING btree (user_id);

-- Name: agents_follow_up_template_id_idx; Type: INDEX; Schema: public

CREATE INDEX agents_follow_up_template_id_idx ON public.agents USING btree (follow_up_template_id) WHERE (follow_up_template_id IS NOT NULL);

-- Name: ai_runs_conversation_idx; Type: INDEX; Schema: public

CREATE INDEX ai_runs_conversation_idx ON public.ai_runs USING btree (conversation_id, created_at);

-- Name: ai_runs_message_id_idx; Type: INDEX; Schema: public

CREATE INDEX ai_runs_message_id_idx ON public.ai_runs USING btree (message_id) WHERE (message_id IS NOT NULL);

-- Name: ai_runs_organization_created_idx; Type: INDEX; Schema: public

CREATE INDEX ai_runs_organization_created_idx ON public.ai_runs USING btree (organization_id, created_at);

-- Name: api_keys_created_by_idx; Type: INDEX; Schema: public

CREATE INDEX api_keys_created_by_idx ON public.api_keys USING btree (created_by);

-- Name: api_keys_organization_id_idx; Type: INDEX; Schema: public

CREATE INDEX api_keys_organization_id_idx ON public.api_keys USING btree (organization_id, created_at DESC);

-- Name: api_keys_revoked_by_idx; Type: INDEX; Schema: public

CREATE INDEX api_keys_revoked_by_idx ON public.api_keys USING btree (revoked_by);

-- Name: api_keys_secret_digest_key; Type: INDEX; Schema: public

CREATE UNIQUE INDEX api_keys_secret_digest_key ON public.api_keys USING btree (secret_digest);

-- Name: broadcast_recipients_contact_id_idx; Type: INDEX; Schema: public

CREATE INDEX broadcast_recipients_contact_id_idx ON public.broadcast_recipients USING btree (contact_id);

-- Name: broadcast_recipients_conversation_id_idx; Type: INDEX; Schema: public

CREATE INDEX broadcast_recipients_conversation_id_idx ON public.broadcast_recipients USING btree (conversation_id) WHERE (conversation_id IS NOT NULL);

-- Name: broadcast_recipients_message_id_idx; Type: INDEX; Schema: public

CREATE INDEX broadcast_recipients_message_id_idx ON public.broadcast_recipients USING btree (message_id) WHERE (message_id IS NOT NULL);

-- Name: broadcast_recipients_queued_idx; Type: INDEX; Schema: public

CREATE INDEX broadcast_recipients_queued_idx ON public.broadcast_recipients USING btree (broadcast_id, "position") WHERE (status = 'queued'::public.broadcast_recipient_status);

-- Name: broadcasts_channel_id_idx; Type: INDEX; Schema: public

CREATE INDEX broadcasts_channel_id_idx ON public.broadcasts USING btree (channel_id);

-- Name: broadcasts_organization_idx; Type: INDEX; Schema: public

CREATE INDEX broadcasts_organization_idx ON public.broadcasts USING btree (organization_id, created_at DESC, id DESC);

-- Name: broadcasts_template_id_idx; Type: INDEX; Schema: public

CREATE INDEX broadcasts_template_id_idx ON public.broadcasts USING btree (template_id);

-- Name: channel_templates_organization_id_idx; Type: INDEX; Schema: public

CREATE INDEX channel_templates_organization_id_idx ON public.channel_templates USING btree (organization_id);

-- Name: channels_organization_id_idx; Type: INDEX; Schema: public

CREATE INDEX channels_organization_id_idx ON public.channels USING btree (organization_id);

-- Name: contact_erasures_organization_erased_idx; Type: INDEX; Schema: public

CREATE INDEX contact_erasures_organization_erased_idx ON public.contact_erasures USING btree (organization_id, erased_at DESC);

-- Name: contact_imports_created_by_idx; Type: INDEX; Schema: public

CREATE INDEX contact_imports_created_by_idx ON public.contact_imports USING btree (created_by);

-- Name: contact_imports_organization_id_idx; Type: INDEX; Schema: public

CREATE INDEX contact_imports_organization_id_idx ON public.contact_imports USING btree (organization_id, created_at DESC);

-- Name: contacts_organization_name_idx; Type: INDEX; Schema: public

CREATE INDEX contacts_organization_name_idx ON public.contacts USING btree (organization_id, lower(COALESCE(display_name, profile_name, phone_number)), id);

-- Name: contacts_organization_tags_idx; Type: INDEX; Schema: public

CREATE INDEX contacts_organization_tags_idx ON public.contacts USING gin (organization_id, tags);

-- Name: contacts_search_idx; Type: INDEX; Schema: public

CREATE INDEX contacts_search_idx ON public.contacts USING gin ((((((COALESCE(display_name, ''::text) || ' '::text) || COALESCE(profile_name, ''::text)) || ' '::text) || phone_number)) extensions.gin_trgm_ops) WITH (gin_pending_list_limit='256');

-- Name: conversation_reads_organization_id_idx; Type: INDEX; Schema: public

CREATE INDEX conversation_reads_organization_id_idx ON public.conversation_reads USING btree (organization_id);

-- Name: conversation_reads_user_id_idx; Type: INDEX; Schema: public

CREATE INDEX conversation_reads_user_id_idx ON public.conversation_reads USING btree (user_id);

-- Name: conversations_active_channel_contact_key; Type: INDEX; Schema: public

CREATE UNIQUE INDEX conversations_active_channel_contact_key ON public.conversations USING btree (channel_id, contact_id, organization_id) WHERE (status <> 'closed'::public.conversation_status);

-- Name: INDEX conversations_active_channel_contact_key; Type: COMMENT; Schema: public

COMMENT ON INDEX public.conversations_active_channel_contact_key IS 'At most one open conversation per channel and contact (organization_id last: a key of a table distributed by organization holds it; the channel decides it anyway).';

-- Name: conversations_assignee_id_idx; Type: INDEX; Schema: public

CREATE INDEX conversations_assignee_id_idx ON public.conversations USING btree (assignee_id) WHERE (assignee_id IS NOT NULL);

-- Name: conversations_contact_id_idx; Type: INDEX; Schema: public

CREATE INDEX conversations_contact_id_idx ON public.conversations USING btree (contact_id);

-- Name: conversations_follow_up_idx; Type: INDEX; Schema: public

CREATE INDEX conversations_follow_up_idx ON public.conversations USING btree (last_message_at) WHERE ((status = 'open'::public.conversation_status) AND (follow_up_sent_at IS NULL));

-- Name: conversations_inactivity_idx; Type: INDEX; Schema: public

CREATE INDEX conversations_inactivity_idx ON public.conversations USING btree (last_message_at) WHERE (status <> 'closed'::public.conversation_status);

-- Name: conversations_inbox_idx; Type: INDEX; Schema: public

CREATE INDEX conversations_inbox_idx ON public.conversations USING btree (organization_id, last_message_at DESC, id DESC);

-- Name: invitations_accepted_by_idx; Type: INDEX; Schema: public

CREATE INDEX invitations_accepted_by_idx ON public.invitations USING btree (accepted_by);

-- Name: invitations_invited_by_idx; Type: INDEX; Schema: public

CREATE INDEX invitations_invited_by_idx ON public.invitations USING btree (invited_by);

-- Name: invitations_open_key; Type: INDEX; Schema: public

CREATE UNIQUE INDEX invitations_open_key ON public.invitations USING btree (organization_id, email) WHERE ((accepted_at IS NULL) AND (revoked_at IS NULL));

-- Name: knowledge_documents_created_by_idx; Type: INDEX; Schema: public

CREATE INDEX knowledge_documents_created_by_idx ON public.knowledge_documents USING btree (created_by) WHERE (created_by IS NOT NULL);

-- Name: knowledge_documents_organization_created_idx; Type: INDEX; Schema: public

CREATE INDEX knowledge_documents_organization_created_idx ON public.knowledge_documents USING btree (organization_id, created_at DESC, id DESC);

-- Name: knowledge_passages_embedding_1536_idx; Type: INDEX; Schema: public

CREATE INDEX knowledge_passages_embedding_1536_idx ON public.knowledge_passages USING hnsw (((embedding)::extensions.vector(1536)) extensions.vector_cosine_ops) WHERE (dimensions = 1536);

-- Name: knowledge_passages_embedding_768_idx; Type: INDEX; Schema: public

CREATE INDEX knowledge_passages_embedding_768_idx ON public.knowledge_passages USING hnsw (((embedding)::extensions.vector(768)) extensions.vector_cosine_ops) WHERE (dimensions = 768);

-- Name: knowledge_passages_organization_idx; Type: INDEX; Schema: public

CREATE INDEX knowledge_passages_organization_idx ON public.knowledge_passages USING btree (organization_id, embedder);

-- Name: knowledge_passages_organization_search_idx; Type: INDEX; Schema: public

CREATE INDEX knowledge_passages_organization_search_idx ON public.knowledge_passages USING gin (organization_id, search_vector);

-- Name: knowledge_passages_organization_vectors_idx; Type: INDEX; Schema: public

CREATE INDEX knowledge_passages_organization_vectors_idx ON public.knowledge_passages USING btree (organization_id, embedder, dimensions) INCLUDE (id, embedding_half) WHERE (dimensions <= 1024);

-- Name: memberships_user_id_idx; Type: INDEX; Schema: public

CREATE INDEX memberships_user_id_idx ON public.memberships USING btree (user_id);

-- Name: messages_body_search_idx; Type: INDEX; Schema: public

CREATE INDEX messages_body_search_idx ON ONLY public.messages USING gin (body extensions.gin_trgm_ops) WITH (gin_pending_list_limit='256');

-- Name: messages_conversation_created_idx; Type: INDEX; Schema: public

CREATE INDEX messages_conversation_created_idx ON ONLY public.messages USING btree (conversation_id, created_at DESC, id DESC);

-- Name: messages_organization_created_idx; Type: INDEX; Schema: public

CREATE INDEX messages_organization_created_idx ON ONLY public.messages USING btree (organization_id, created_at);

-- Name: messages_transcript_search_idx; Type: INDEX; Schema: public

CREATE INDEX messages_transcript_search_idx ON ONLY public.messages USING gin (transcript extensions.gin_trgm_ops) WITH (gin_pending_list_limit='256') WHERE (transcript IS NOT NULL);

-- Name: profiles_email_key; Type: INDEX; Schema: public

CREATE UNIQUE INDEX profiles_email_key ON public.profiles USING btree (lower(email));

-- Name: scheduled_messages_conversation_idx; Type: INDEX; Schema: public

CREATE INDEX scheduled_messages_conversation_idx ON public.scheduled_messages USING btree (conversation_id, send_at, id);

-- Name: scheduled_messages_created_by_api_key_idx; Type: INDEX; Schema: public

CREATE INDEX scheduled_messages_created_by_api_key_idx ON public.scheduled_messages USING btree (created_by_api_key) WHERE (created_by_api_key IS NOT NULL);

-- Name: scheduled_messages_created_by_idx; Type: INDEX; Schema: public

CREATE INDEX scheduled_messages_created_by_idx ON public.scheduled_messages USING btree (created_by) WHERE (created_by IS NOT NULL);

-- Name: scheduled_messages_message_id_idx; Type: INDEX; Schema: public

CREATE INDEX scheduled_messages_message_id_idx ON public.scheduled_messages USING btree (message_id) WHERE (message_id IS NOT NULL);

-- Name: scheduled_messages_organization_id_idx; Type: INDEX; Schema: public

CREATE INDEX scheduled_messages_organization_id_idx ON public.scheduled_messages USING btree (organization_id);

-- Name: scheduled_messages_template_id_idx; Type: INDEX; Schema: public

CREATE INDEX scheduled_messages_template_id_idx ON public.scheduled_messages USING btree (template_id) WHERE (template_id IS NOT NULL);

-- Name: usage_counters_organization_hour_idx; Type: INDEX; Schema: public

CREATE INDEX usage_counters_organization_hour_idx ON public.usage_counters USING btree (organization_id, hour);

-- Name: webhook_deliveries_endpoint_created_idx; Type: INDEX; Schema: public

CREATE INDEX webhook_deliveries_endpoint_created_idx ON public.webhook_deliveries USING btree (endpoint_id, created_at DESC, id DESC);

-- Name: webhook_deliveries_organization_id_idx; Type: INDEX; Schema: public

CREATE INDEX webhook_deliveries_organization_id_idx ON public.webhook_deliveries USING btree (organization_id);

-- Name: webhook_delivery_attempts_attempted_at_idx; Type: INDEX; Schema: public

CREATE INDEX webhook_delivery_attempts_attempted_at_idx ON public.webhook_delivery_attempts USING btree (attempted_at);

-- Name: webhook_delivery_attempts_delivery_idx; Type: INDEX; Schema: public

CREATE INDEX webhook_delivery_attempts_delivery_idx ON public.webhook_delivery_attempts USING btree (delivery_id, attempted_at, id);

-- Name: webhook_delivery_attempts_organization_id_idx; Type: INDEX; Schema: public

CREATE INDEX webhook_delivery_attempts_organization_id_idx ON public.webhook_delivery_attempts USING btree (organization_id);

-- Name: webhook_endpoints_organization_created_idx; Type: INDEX; Schema: public

CREATE INDEX webhook_endpoints_organization_created_idx ON public.webhook_endpoints USING btree (organization_id, created_at);

-- Name: webhook_endpoints_organization_id_idx; Type: INDEX; Schema: public

CREATE INDEX webhook_endpoints_organization_id_idx ON public.webhook_endpoints USING btree (organization_id) WHERE enabled;

-- Name: agents tg_agents__follow_up_template_without_variables; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_agents__follow_up_template_without_variables BEFORE INSERT OR UPDATE OF follow_up_template_id ON public.agents FOR EACH ROW WHEN ((new.follow_up_template_id IS NOT NULL)) EXECUTE FUNCTION private.tg_agents__follow_up_template_without_variables();

-- Name: agents tg_agents__set_updated_at; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_agents__set_updated_at BEFORE UPDATE ON public.agents FOR EACH ROW EXECUTE FUNCTION private.tg__set_updated_at();

-- Name: ai_runs tg_ai_runs__count_usage; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_ai_runs__count_usage AFTER INSERT ON public.ai_runs FOR EACH ROW WHEN (((new.prompt_tokens <> 0) OR (new.completion_tokens <> 0))) EXECUTE FUNCTION private.tg_ai_runs__count_usage();

-- Name: ai_runs tg_ai_runs__count_usage_change; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_ai_runs__count_usage_change AFTER UPDATE OF prompt_tokens, completion_tokens ON public.ai_runs FOR EACH ROW WHEN (((old.prompt_tokens IS DISTINCT FROM new.prompt_tokens) OR (old.completion_tokens IS DISTINCT FROM new.completion_tokens))) EXECUTE FUNCTION private.tg_ai_runs__count_usage();

-- Name: broadcasts tg_broadcasts__set_updated_at; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_broadcasts__set_updated_at BEFORE UPDATE ON public.broadcasts FOR EACH ROW EXECUTE FUNCTION private.tg__set_updated_at();

-- Name: channel_templates tg_channel_templates__set_updated_at; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_channel_templates__set_updated_at BEFORE UPDATE ON public.channel_templates FOR EACH ROW EXECUTE FUNCTION private.tg__set_updated_at();

-- Name: channels tg_channels__set_updated_at; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_channels__set_updated_at BEFORE UPDATE ON public.channels FOR EACH ROW EXECUTE FUNCTION private.tg__set_updated_at();

-- Name: contact_imports tg_contact_imports__set_updated_at; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_contact_imports__set_updated_at BEFORE UPDATE ON public.contact_imports FOR EACH ROW EXECUTE FUNCTION private.tg__set_updated_at();

-- Name: contacts tg_contacts__set_updated_at; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_contacts__set_updated_at BEFORE UPDATE ON public.contacts FOR EACH ROW EXECUTE FUNCTION private.tg__set_updated_at();

-- Name: contacts tg_contacts__webhook_events_on_insert; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_contacts__webhook_events_on_insert AFTER INSERT ON public.contacts FOR EACH ROW WHEN ((new.opted_out_at IS NOT NULL)) EXECUTE FUNCTION private.tg_contacts__webhook_events();

-- Name: contacts tg_contacts__webhook_events_on_update; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_contacts__webhook_events_on_update AFTER UPDATE OF opted_out_at ON public.contacts FOR EACH ROW WHEN ((new.opted_out_at IS DISTINCT FROM old.opted_out_at)) EXECUTE FUNCTION private.tg_contacts__webhook_events();

-- Name: conversation_reads tg_conversation_reads__set_organization; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_conversation_reads__set_organization BEFORE INSERT OR UPDATE OF conversation_id, organization_id ON public.conversation_reads FOR EACH ROW EXECUTE FUNCTION private.tg_conversation_reads__set_organization();

-- Name: conversations tg_conversations__assignee_is_member; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_conversations__assignee_is_member BEFORE INSERT OR UPDATE OF assignee_id ON public.conversations FOR EACH ROW WHEN ((new.assignee_id IS NOT NULL)) EXECUTE FUNCTION private.tg_conversations__assignee_is_member();

-- Name: conversations tg_conversations__publish_changes; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_conversations__publish_changes AFTER UPDATE OF status, assignee_id, ai_enabled ON public.conversations FOR EACH ROW EXECUTE FUNCTION private.tg_conversations__publish_changes();

-- Name: conversations tg_conversations__set_updated_at; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_conversations__set_updated_at BEFORE UPDATE ON public.conversations FOR EACH ROW EXECUTE FUNCTION private.tg__set_updated_at();

-- Name: conversations tg_conversations__webhook_events; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_conversations__webhook_events AFTER UPDATE OF status, assignee_id ON public.conversations FOR EACH ROW WHEN (((new.status IS DISTINCT FROM old.status) OR (new.assignee_id IS DISTINCT FROM old.assignee_id))) EXECUTE FUNCTION private.tg_conversations__webhook_events();

-- Name: knowledge_documents tg_knowledge_documents__set_updated_at; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_knowledge_documents__set_updated_at BEFORE UPDATE ON public.knowledge_documents FOR EACH ROW EXECUTE FUNCTION private.tg__set_updated_at();

-- Name: memberships tg_memberships__keep_an_owner; Type: TRIGGER; Schema: public

CREATE CONSTRAINT TRIGGER tg_memberships__keep_an_owner AFTER DELETE OR UPDATE ON public.memberships DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION private.tg_memberships__keep_an_owner();

-- Name: memberships tg_memberships__set_updated_at; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_memberships__set_updated_at BEFORE UPDATE ON public.memberships FOR EACH ROW EXECUTE FUNCTION private.tg__set_updated_at();

-- Name: messages tg_messages__claim_keys; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_messages__claim_keys BEFORE INSERT ON public.messages FOR EACH ROW WHEN (((new.metadata ? 'message_sid'::text) OR (new.metadata ? 'broadcast_recipient'::text))) EXECUTE FUNCTION private.tg_messages__claim_keys();

-- Name: messages tg_messages__claim_keys_on_update; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_messages__claim_keys_on_update BEFORE UPDATE OF metadata, created_at, organization_id ON public.messages FOR EACH ROW WHEN ((((old.metadata ->> 'message_sid'::text) IS DISTINCT FROM (new.metadata ->> 'message_sid'::text)) OR ((old.metadata ->> 'broadcast_recipient'::text) IS DISTINCT FROM (new.metadata ->> 'broadcast_recipient'::text)) OR (((new.metadata ? 'message_sid'::text) OR (new.metadata ? 'broadcast_recipient'::text)) AND ((old.created_at IS DISTINCT FROM new.created_at) OR (old.organization_id IS DISTINCT FROM new.organization_id))))) EXECUTE FUNCTION private.tg_messages__claim_keys();

-- Name: messages tg_messages__count_usage; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_messages__count_usage AFTER INSERT ON public.messages FOR EACH ROW EXECUTE FUNCTION private.tg_messages__count_usage();

-- Name: messages tg_messages__count_usage_change; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_messages__count_usage_change AFTER UPDATE OF is_error ON public.messages FOR EACH ROW WHEN (((old.is_error IS DISTINCT FROM new.is_error) AND (new.author = 'ai'::public.message_author))) EXECUTE FUNCTION private.tg_messages__count_usage();

-- Name: messages tg_messages__fetch_media; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_messages__fetch_media AFTER INSERT ON public.messages FOR EACH ROW WHEN (((new.direction = 'inbound'::public.message_direction) AND (new.media <> '[]'::jsonb))) EXECUTE FUNCTION private.tg_messages__fetch_media();

-- Name: messages tg_messages__forget; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_messages__forget AFTER DELETE ON public.messages REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION private.tg_messages__forget();

-- Name: messages tg_messages__media_changed; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_messages__media_changed AFTER UPDATE OF media ON public.messages FOR EACH ROW WHEN (((new.direction = 'inbound'::public.message_direction) AND (new.media IS DISTINCT FROM old.media))) EXECUTE FUNCTION private.tg_messages__media_changed();

-- Name: messages tg_messages__publish_changes; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_messages__publish_changes AFTER UPDATE OF status, is_error, error_code ON public.messages FOR EACH ROW EXECUTE FUNCTION private.tg_messages__publish_changes();

-- Name: messages tg_messages__set_updated_at; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_messages__set_updated_at BEFORE UPDATE ON public.messages FOR EACH ROW EXECUTE FUNCTION private.tg__set_updated_at();

-- Name: messages tg_messages__webhook_events_on_insert; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_messages__webhook_events_on_insert AFTER INSERT ON public.messages FOR EACH ROW WHEN ((new.direction = 'inbound'::public.message_direction)) EXECUTE FUNCTION private.tg_messages__webhook_events();

-- Name: messages tg_messages__webhook_events_on_update; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_messages__webhook_events_on_update AFTER UPDATE OF status ON public.messages FOR EACH ROW WHEN (((new.direction = 'outbound'::public.message_direction) AND (new.status IS DISTINCT FROM old.status))) EXECUTE FUNCTION private.tg_messages__webhook_events();

-- Name: organizations tg_organizations__create_agent; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_organizations__create_agent AFTER INSERT ON public.organizations FOR EACH ROW EXECUTE FUNCTION private.tg_organizations__create_agent();

-- Name: organizations tg_organizations__need_an_owner; Type: TRIGGER; Schema: public

CREATE CONSTRAINT TRIGGER tg_organizations__need_an_owner AFTER INSERT ON public.organizations DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION private.tg_organizations__need_an_owner();

-- Name: organizations tg_organizations__set_updated_at; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_organizations__set_updated_at BEFORE UPDATE ON public.organizations FOR EACH ROW EXECUTE FUNCTION private.tg__set_updated_at();

-- Name: profiles tg_profiles__set_updated_at; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_profiles__set_updated_at BEFORE UPDATE ON public.profiles FOR EACH ROW EXECUTE FUNCTION private.tg__set_updated_at();

-- Name: scheduled_messages tg_scheduled_messages__set_updated_at; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_scheduled_messages__set_updated_at BEFORE UPDATE ON public.scheduled_messages FOR EACH ROW EXECUTE FUNCTION private.tg__set_updated_at();

-- Name: webhook_endpoints tg_webhook_endpoints__enabled_again; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_webhook_endpoints__enabled_again BEFORE UPDATE OF enabled ON public.webhook_endpoints FOR EACH ROW EXECUTE FUNCTION private.tg_webhook_endpoints__enabled_again();

-- Name: webhook_endpoints tg_webhook_endpoints__set_updated_at; Type: TRIGGER; Schema: public

CREATE TRIGGER tg_webhook_endpoints__set_updated_at BEFORE UPDATE ON public.webhook_endpoints FOR EACH ROW EXECUTE FUNCTION private.tg__set_updated_at();

-- Name: account_tokens account_tokens_user_id_fkey; Type: FK CONSTRAINT; Schema: private

ALTER TABLE ONLY private.account_tokens
    ADD CONSTRAINT account_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE;

-- Name: message_broadcast_recipients message_broadcast_recipients_organization_id_fkey; Type: FK CONSTRAINT; Schema: private

ALTER TABLE ONLY private.message_broadcast_recipients
    ADD CONSTRAINT message_broadcast_recipients_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: message_sids message_sids_organization_id_fkey; Type: FK CONSTRAINT; Schema: private

ALTER TABLE ONLY private.message_sids
    ADD CONSTRAINT message_sids_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: refresh_tokens refresh_tokens_session_id_fkey; Type: FK CONSTRAINT; Schema: private

ALTER TABLE ONLY private.refresh_tokens
    ADD CONSTRAINT refresh_tokens_session_id_fkey FOREIGN KEY (session_id) REFERENCES private.sessions(id) ON DELETE CASCADE;

-- Name: sessions sessions_user_id_fkey; Type: FK CONSTRAINT; Schema: private

ALTER TABLE ONLY private.sessions
    ADD CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE;

-- Name: agents agents_follow_up_template_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT agents_follow_up_template_fkey FOREIGN KEY (follow_up_template_id, organization_id) REFERENCES public.channel_templates(id, organization_id) ON DELETE SET NULL (follow_up_template_id);

-- Name: agents agents_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT agents_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: ai_runs ai_runs_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.ai_runs
    ADD CONSTRAINT ai_runs_conversation_id_fkey FOREIGN KEY (conversation_id, organization_id) REFERENCES public.conversations(id, organization_id) ON DELETE CASCADE;

-- Name: ai_runs ai_runs_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.ai_runs
    ADD CONSTRAINT ai_runs_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: api_keys api_keys_created_by_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.profiles(id) ON DELETE SET NULL;

-- Name: api_keys api_keys_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: api_keys api_keys_revoked_by_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_revoked_by_fkey FOREIGN KEY (revoked_by) REFERENCES public.profiles(id) ON DELETE SET NULL;

-- Name: broadcast_recipients broadcast_recipients_broadcast_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.broadcast_recipients
    ADD CONSTRAINT broadcast_recipients_broadcast_id_fkey FOREIGN KEY (broadcast_id, organization_id) REFERENCES public.broadcasts(id, organization_id) ON DELETE CASCADE;

-- Name: broadcast_recipients broadcast_recipients_contact_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.broadcast_recipients
    ADD CONSTRAINT broadcast_recipients_contact_id_fkey FOREIGN KEY (contact_id, organization_id) REFERENCES public.contacts(id, organization_id) ON DELETE CASCADE;

-- Name: broadcast_recipients broadcast_recipients_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.broadcast_recipients
    ADD CONSTRAINT broadcast_recipients_conversation_id_fkey FOREIGN KEY (conversation_id, organization_id) REFERENCES public.conversations(id, organization_id) ON DELETE SET NULL (conversation_id);

-- Name: broadcast_recipients broadcast_recipients_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.broadcast_recipients
    ADD CONSTRAINT broadcast_recipients_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: broadcasts broadcasts_api_key_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.broadcasts
    ADD CONSTRAINT broadcasts_api_key_id_fkey FOREIGN KEY (api_key_id, organization_id) REFERENCES public.api_keys(id, organization_id) ON DELETE SET NULL (api_key_id);

-- Name: broadcasts broadcasts_channel_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.broadcasts
    ADD CONSTRAINT broadcasts_channel_id_fkey FOREIGN KEY (channel_id, organization_id) REFERENCES public.channels(id, organization_id) ON DELETE CASCADE;

-- Name: broadcasts broadcasts_created_by_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.broadcasts
    ADD CONSTRAINT broadcasts_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.profiles(id) ON DELETE SET NULL;

-- Name: broadcasts broadcasts_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.broadcasts
    ADD CONSTRAINT broadcasts_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: broadcasts broadcasts_template_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.broadcasts
    ADD CONSTRAINT broadcasts_template_id_fkey FOREIGN KEY (template_id, organization_id) REFERENCES public.channel_templates(id, organization_id) ON DELETE SET NULL (template_id);

-- Name: channel_templates channel_templates_channel_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.channel_templates
    ADD CONSTRAINT channel_templates_channel_fkey FOREIGN KEY (channel_id, organization_id) REFERENCES public.channels(id, organization_id) ON DELETE CASCADE;

-- Name: channel_templates channel_templates_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.channel_templates
    ADD CONSTRAINT channel_templates_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: channels channels_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.channels
    ADD CONSTRAINT channels_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: contact_erasures contact_erasures_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.contact_erasures
    ADD CONSTRAINT contact_erasures_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: contact_imports contact_imports_created_by_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.contact_imports
    ADD CONSTRAINT contact_imports_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.profiles(id) ON DELETE SET NULL;

-- Name: contact_imports contact_imports_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.contact_imports
    ADD CONSTRAINT contact_imports_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: contacts contacts_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: conversation_reads conversation_reads_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.conversation_reads
    ADD CONSTRAINT conversation_reads_conversation_id_fkey FOREIGN KEY (conversation_id, organization_id) REFERENCES public.conversations(id, organization_id) ON DELETE CASCADE;

-- Name: conversation_reads conversation_reads_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.conversation_reads
    ADD CONSTRAINT conversation_reads_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: conversation_reads conversation_reads_user_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.conversation_reads
    ADD CONSTRAINT conversation_reads_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.profiles(id) ON DELETE CASCADE;

-- Name: conversations conversations_assignee_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_assignee_id_fkey FOREIGN KEY (assignee_id) REFERENCES public.profiles(id) ON DELETE SET NULL;

-- Name: conversations conversations_channel_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_channel_id_fkey FOREIGN KEY (channel_id, organization_id) REFERENCES public.channels(id, organization_id) ON DELETE CASCADE;

-- Name: conversations conversations_contact_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_contact_id_fkey FOREIGN KEY (contact_id, organization_id) REFERENCES public.contacts(id, organization_id) ON DELETE CASCADE;

-- Name: conversations conversations_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: invitations invitations_accepted_by_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_accepted_by_fkey FOREIGN KEY (accepted_by) REFERENCES public.profiles(id) ON DELETE SET NULL;

-- Name: invitations invitations_invited_by_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_invited_by_fkey FOREIGN KEY (invited_by) REFERENCES public.profiles(id) ON DELETE SET NULL;

-- Name: invitations invitations_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: knowledge_documents knowledge_documents_created_by_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.knowledge_documents
    ADD CONSTRAINT knowledge_documents_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.profiles(id) ON DELETE SET NULL;

-- Name: knowledge_documents knowledge_documents_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.knowledge_documents
    ADD CONSTRAINT knowledge_documents_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: knowledge_passages knowledge_passages_document_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.knowledge_passages
    ADD CONSTRAINT knowledge_passages_document_id_fkey FOREIGN KEY (document_id, organization_id) REFERENCES public.knowledge_documents(id, organization_id) ON DELETE CASCADE;

-- Name: knowledge_passages knowledge_passages_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.knowledge_passages
    ADD CONSTRAINT knowledge_passages_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: memberships memberships_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT memberships_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: memberships memberships_user_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT memberships_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.profiles(id) ON DELETE CASCADE;

-- Name: messages messages_author_member_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE public.messages
    ADD CONSTRAINT messages_author_member_id_fkey FOREIGN KEY (author_member_id) REFERENCES public.profiles(id) ON DELETE SET NULL;

-- Name: messages messages_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE public.messages
    ADD CONSTRAINT messages_conversation_id_fkey FOREIGN KEY (conversation_id, organization_id) REFERENCES public.conversations(id, organization_id) ON DELETE CASCADE;

-- Name: messages messages_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE public.messages
    ADD CONSTRAINT messages_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: profiles profiles_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.profiles
    ADD CONSTRAINT profiles_id_fkey FOREIGN KEY (id) REFERENCES auth.users(id) ON DELETE CASCADE;

-- Name: scheduled_messages scheduled_messages_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.scheduled_messages
    ADD CONSTRAINT scheduled_messages_conversation_id_fkey FOREIGN KEY (conversation_id, organization_id) REFERENCES public.conversations(id, organization_id) ON DELETE CASCADE;

-- Name: scheduled_messages scheduled_messages_created_by_api_key_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.scheduled_messages
    ADD CONSTRAINT scheduled_messages_created_by_api_key_fkey FOREIGN KEY (created_by_api_key, organization_id) REFERENCES public.api_keys(id, organization_id) ON DELETE SET NULL (created_by_api_key);

-- Name: scheduled_messages scheduled_messages_created_by_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.scheduled_messages
    ADD CONSTRAINT scheduled_messages_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.profiles(id) ON DELETE SET NULL;

-- Name: scheduled_messages scheduled_messages_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.scheduled_messages
    ADD CONSTRAINT scheduled_messages_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: scheduled_messages scheduled_messages_template_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.scheduled_messages
    ADD CONSTRAINT scheduled_messages_template_id_fkey FOREIGN KEY (template_id, organization_id) REFERENCES public.channel_templates(id, organization_id) ON DELETE SET NULL (template_id);

-- Name: usage_counters usage_counters_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.usage_counters
    ADD CONSTRAINT usage_counters_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: webhook_deliveries webhook_deliveries_endpoint_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_endpoint_id_fkey FOREIGN KEY (endpoint_id, organization_id) REFERENCES public.webhook_endpoints(id, organization_id) ON DELETE CASCADE;

-- Name: webhook_deliveries webhook_deliveries_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: webhook_delivery_attempts webhook_delivery_attempts_delivery_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.webhook_delivery_attempts
    ADD CONSTRAINT webhook_delivery_attempts_delivery_id_fkey FOREIGN KEY (delivery_id, organization_id) REFERENCES public.webhook_deliveries(id, organization_id) ON DELETE CASCADE;

-- Name: webhook_delivery_attempts webhook_delivery_attempts_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.webhook_delivery_attempts
    ADD CONSTRAINT webhook_delivery_attempts_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: webhook_endpoints webhook_endpoints_organization_id_fkey; Type: FK CONSTRAINT; Schema: public

ALTER TABLE ONLY public.webhook_endpoints
    ADD CONSTRAINT webhook_endpoints_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

-- Name: account_tokens; Type: ROW SECURITY; Schema: private

ALTER TABLE private.account_tokens ENABLE ROW LEVEL SECURITY;

-- Name: mail_outbox; Type: ROW SECURITY; Schema: private

ALTER TABLE private.mail_outbox ENABLE ROW LEVEL SECURITY;

-- Name: pending_users; Type: ROW SECURITY; Schema: private

ALTER TABLE private.pending_users ENABLE ROW LEVEL SECURITY;

-- Name: refresh_tokens; Type: ROW SECURITY; Schema: private

ALTER TABLE private.refresh_tokens ENABLE ROW LEVEL SECURITY;

-- Name: sessions; Type: ROW SECURITY; Schema: private

ALTER TABLE private.sessions ENABLE ROW LEVEL SECURITY;

-- Name: conversation_reads Members can move their own read positions; Type: POLICY; Schema: public

CREATE POLICY "Members can move their own read positions" ON public.conversation_reads FOR UPDATE TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid))) WITH CHECK (((user_id = ( SELECT auth.uid() AS uid)) AND (organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller))));

-- Name: profiles Members can read the profiles of their teammates; Type: POLICY; Schema: public

CREATE POLICY "Members can read the profiles of their teammates" ON public.profiles FOR SELECT TO authenticated USING ((id IN ( SELECT memberships.user_id
   FROM public.memberships
  WHERE (memberships.organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)))));

-- Name: scheduled_messages Members can read their organization's scheduled messages; Type: POLICY; Schema: public

CREATE POLICY "Members can read their organization's scheduled messages" ON public.scheduled_messages FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)));

-- Name: organizations Members can read their organizations; Type: POLICY; Schema: public

CREATE POLICY "Members can read their organizations" ON public.organizations FOR SELECT TO authenticated USING ((id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)));

-- Name: ai_runs Members can read their organizations' AI runs; Type: POLICY; Schema: public

CREATE POLICY "Members can read their organizations' AI runs" ON public.ai_runs FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)));

-- Name: agents Members can read their organizations' agent; Type: POLICY; Schema: public

CREATE POLICY "Members can read their organizations' agent" ON public.agents FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)));

-- Name: broadcast_recipients Members can read their organizations' broadcast recipients; Type: POLICY; Schema: public

CREATE POLICY "Members can read their organizations' broadcast recipients" ON public.broadcast_recipients FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)));

-- Name: broadcasts Members can read their organizations' broadcasts; Type: POLICY; Schema: public

CREATE POLICY "Members can read their organizations' broadcasts" ON public.broadcasts FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)));

-- Name: channels Members can read their organizations' channels; Type: POLICY; Schema: public

CREATE POLICY "Members can read their organizations' channels" ON public.channels FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)));

-- Name: contacts Members can read their organizations' contacts; Type: POLICY; Schema: public

CREATE POLICY "Members can read their organizations' contacts" ON public.contacts FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)));

-- Name: conversations Members can read their organizations' conversations; Type: POLICY; Schema: public

CREATE POLICY "Members can read their organizations' conversations" ON public.conversations FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)));

-- Name: knowledge_documents Members can read their organizations' knowledge documents; Type: POLICY; Schema: public

CREATE POLICY "Members can read their organizations' knowledge documents" ON public.knowledge_documents FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)));

-- Name: knowledge_passages Members can read their organizations' knowledge passages; Type: POLICY; Schema: public

CREATE POLICY "Members can read their organizations' knowledge passages" ON public.knowledge_passages FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)));

-- Name: memberships Members can read their organizations' memberships; Type: POLICY; Schema: public

CREATE POLICY "Members can read their organizations' memberships" ON public.memberships FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)));

-- Name: messages Members can read their organizations' messages; Type: POLICY; Schema: public

CREATE POLICY "Members can read their organizations' messages" ON public.messages FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)));

-- Name: channel_templates Members can read their organizations' templates; Type: POLICY; Schema: public

CREATE POLICY "Members can read their organizations' templates" ON public.channel_templates FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)));

-- Name: usage_counters Members can read their organizations' usage; Type: POLICY; Schema: public

CREATE POLICY "Members can read their organizations' usage" ON public.usage_counters FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)));

-- Name: conversation_reads Members can read their own read positions; Type: POLICY; Schema: public

CREATE POLICY "Members can read their own read positions" ON public.conversation_reads FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

-- Name: conversation_reads Members can record their own read positions; Type: POLICY; Schema: public

CREATE POLICY "Members can record their own read positions" ON public.conversation_reads FOR INSERT TO authenticated WITH CHECK (((user_id = ( SELECT auth.uid() AS uid)) AND (organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller))));

-- Name: contacts Members can rename their organizations' contacts; Type: POLICY; Schema: public

CREATE POLICY "Members can rename their organizations' contacts" ON public.contacts FOR UPDATE TO authenticated USING ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller))) WITH CHECK ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)));

-- Name: conversations Members can work their organizations' conversations; Type: POLICY; Schema: public

CREATE POLICY "Members can work their organizations' conversations" ON public.conversations FOR UPDATE TO authenticated USING ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller))) WITH CHECK ((organization_id IN ( SELECT private.organizations_of_caller() AS organizations_of_caller)));

-- Name: channels Owners and admins can add channels; Type: POLICY; Schema: public

CREATE POLICY "Owners and admins can add channels" ON public.channels FOR INSERT TO authenticated WITH CHECK ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is)));

-- Name: channel_templates Owners and admins can add templates; Type: POLICY; Schema: public

CREATE POLICY "Owners and admins can add templates" ON public.channel_templates FOR INSERT TO authenticated WITH CHECK ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is)));

-- Name: webhook_endpoints Owners and admins can add webhook endpoints; Type: POLICY; Schema: public

CREATE POLICY "Owners and admins can add webhook endpoints" ON public.webhook_endpoints FOR INSERT TO authenticated WITH CHECK ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is)));

-- Name: channels Owners and admins can change channels; Type: POLICY; Schema: public

CREATE POLICY "Owners and admins can change channels" ON public.channels FOR UPDATE TO authenticated USING ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is))) WITH CHECK ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is)));

-- Name: channel_templates Owners and admins can change templates; Type: POLICY; Schema: public

CREATE POLICY "Owners and admins can change templates" ON public.channel_templates FOR UPDATE TO authenticated USING ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is))) WITH CHECK ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is)));

-- Name: webhook_endpoints Owners and admins can change their webhook endpoints; Type: POLICY; Schema: public

CREATE POLICY "Owners and admins can change their webhook endpoints" ON public.webhook_endpoints FOR UPDATE TO authenticated USING ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is))) WITH CHECK ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is)));

-- Name: agents Owners and admins can configure their organizations' agent; Type: POLICY; Schema: public

CREATE POLICY "Owners and admins can configure their organizations' agent" ON public.agents FOR UPDATE TO authenticated USING ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is))) WITH CHECK ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is)));

-- Name: api_keys Owners and admins can read their organization's API keys; Type: POLICY; Schema: public

CREATE POLICY "Owners and admins can read their organization's API keys" ON public.api_keys FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is)));

-- Name: contact_imports Owners and admins can read their organization's contact imports; Type: POLICY; Schema: public

CREATE POLICY "Owners and admins can read their organization's contact imports" ON public.contact_imports FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is)));

-- Name: invitations Owners and admins can read their organization's invitations; Type: POLICY; Schema: public

CREATE POLICY "Owners and admins can read their organization's invitations" ON public.invitations FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is)));

-- Name: webhook_delivery_attempts Owners and admins can read their organization's webhook attempt; Type: POLICY; Schema: public

CREATE POLICY "Owners and admins can read their organization's webhook attempt" ON public.webhook_delivery_attempts FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is)));

-- Name: webhook_deliveries Owners and admins can read their organization's webhook deliver; Type: POLICY; Schema: public

CREATE POLICY "Owners and admins can read their organization's webhook deliver" ON public.webhook_deliveries FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is)));

-- Name: webhook_endpoints Owners and admins can read their organization's webhook endpoin; Type: POLICY; Schema: public

CREATE POLICY "Owners and admins can read their organization's webhook endpoin" ON public.webhook_endpoints FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is)));

-- Name: channel_templates Owners and admins can remove templates; Type: POLICY; Schema: public

CREATE POLICY "Owners and admins can remove templates" ON public.channel_templates FOR DELETE TO authenticated USING ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is)));

-- Name: webhook_endpoints Owners and admins can remove their webhook endpoints; Type: POLICY; Schema: public

CREATE POLICY "Owners and admins can remove their webhook endpoints" ON public.webhook_endpoints FOR DELETE TO authenticated USING ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is)));

-- Name: organizations Owners and admins can rename their organizations; Type: POLICY; Schema: public

CREATE POLICY "Owners and admins can rename their organizations" ON public.organizations FOR UPDATE TO authenticated USING ((id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is))) WITH CHECK ((id IN ( SELECT private.organizations_where_caller_is('{owner,admin}'::public.membership_role[]) AS organizations_where_caller_is)));

-- Name: contact_erasures Owners can read their organization's erasures; Type: POLICY; Schema: public

CREATE POLICY "Owners can read their organization's erasures" ON public.contact_erasures FOR SELECT TO authenticated USING ((organization_id IN ( SELECT private.organizations_where_caller_is('{owner}'::public.membership_role[]) AS organizations_where_caller_is)));

-- Name: profiles Users can read their own profile; Type: POLICY; Schema: public

CREATE POLICY "Users can read their own profile" ON public.profiles FOR SELECT TO authenticated USING ((id = ( SELECT auth.uid() AS uid)));

-- Name: profiles Users can update their own profile; Type: POLICY; Schema: public

CREATE POLICY "Users can update their own profile" ON public.profiles FOR UPDATE TO authenticated USING ((id = ( SELECT auth.uid() AS uid))) WITH CHECK ((id = ( SELECT auth.uid() AS uid)));

-- Name: agents; Type: ROW SECURITY; Schema: public

ALTER TABLE public.agents ENABLE ROW LEVEL SECURITY;

-- Name: ai_runs; Type: ROW SECURITY; Schema: public

ALTER TABLE public.ai_runs ENABLE ROW LEVEL SECURITY;

-- Name: api_keys; Type: ROW SECURITY; Schema: public

ALTER TABLE public.api_keys ENABLE ROW LEVEL SECURITY;

-- Name: broadcast_recipients; Type: ROW SECURITY; Schema: public

ALTER TABLE public.broadcast_recipients ENABLE ROW LEVEL SECURITY;

-- Name: broadcasts; Type: ROW SECURITY; Schema: public

ALTER TABLE public.broadcasts ENABLE ROW LEVEL SECURITY;

-- Name: channel_templates; Type: ROW SECURITY; Schema: public

ALTER TABLE public.channel_templates ENABLE ROW LEVEL SECURITY;

-- Name: channels; Type: ROW SECURITY; Schema: public

ALTER TABLE public.channels ENABLE ROW LEVEL SECURITY;

-- Name: contact_erasures; Type: ROW SECURITY; Schema: public

ALTER TABLE public.contact_erasures ENABLE ROW LEVEL SECURITY;

-- Name: contact_imports; Type: ROW SECURITY; Schema: public

ALTER TABLE public.contact_imports ENABLE ROW LEVEL SECURITY;

-- Name: contacts; Type: ROW SECURITY; Schema: public

ALTER TABLE public.contacts ENABLE ROW LEVEL SECURITY;

-- Name: conversation_reads; Type: ROW SECURITY; Schema: public

ALTER TABLE public.conversation_reads ENABLE ROW LEVEL SECURITY;

-- Name: conversations; Type: ROW SECURITY; Schema: public

ALTER TABLE public.conversations ENABLE ROW LEVEL SECURITY;

-- Name: invitations; Type: ROW SECURITY; Schema: public

ALTER TABLE public.invitations ENABLE ROW LEVEL SECURITY;

-- Name: knowledge_documents; Type: ROW SECURITY; Schema: public

ALTER TABLE public.knowledge_documents ENABLE ROW LEVEL SECURITY;

-- Name: knowledge_passages; Type: ROW SECURITY; Schema: public

ALTER TABLE public.knowledge_passages ENABLE ROW LEVEL SECURITY;

-- Name: memberships; Type: ROW SECURITY; Schema: public

ALTER TABLE public.memberships ENABLE ROW LEVEL SECURITY;

-- Name: messages; Type: ROW SECURITY; Schema: public

ALTER TABLE public.messages ENABLE ROW LEVEL SECURITY;

-- Name: organizations; Type: ROW SECURITY; Schema: public

ALTER TABLE public.organizations ENABLE ROW LEVEL SECURITY;

-- Name: profiles; Type: ROW SECURITY; Schema: public

ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;

-- Name: scheduled_messages; Type: ROW SECURITY; Schema: public

ALTER TABLE public.scheduled_messages ENABLE ROW LEVEL SECURITY;

-- Name: usage_counters; Type: ROW SECURITY; Schema: public

ALTER TABLE public.usage_counters ENABLE ROW LEVEL SECURITY;

-- Name: webhook_deliveries; Type: ROW SECURITY; Schema: public

ALTER TABLE public.webhook_deliveries ENABLE ROW LEVEL SECURITY;

-- Name: webhook_delivery_attempts; Type: ROW SECURITY; Schema: public

ALTER TABLE public.webhook_delivery_attempts ENABLE ROW LEVEL SECURITY;

-- Name: webhook_endpoints; Type: ROW SECURITY; Schema: public

ALTER TABLE public.webhook_endpoints ENABLE ROW LEVEL SECURITY;

-- Name: SCHEMA private; Type: ACL; Schema: -

GRANT USAGE ON SCHEMA private TO service_role;
GRANT USAGE ON SCHEMA private TO authenticated;

-- Name: SCHEMA public; Type: ACL; Schema: -

GRANT USAGE ON SCHEMA public TO anon;
GRANT USAGE ON SCHEMA public TO authenticated;
GRANT USAGE ON SCHEMA public TO service_role;

-- Name: TABLE pending_users; Type: ACL; Schema: private

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE private.pending_users TO service_role;

-- Name: FUNCTION abandoned_pending_users_v1(in_flight_for interval, abandoned_for interval); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.abandoned_pending_users_v1(in_flight_for interval, abandoned_for interval) FROM PUBLIC;
GRANT ALL ON FUNCTION private.abandoned_pending_users_v1(in_flight_for interval, abandoned_for interval) TO service_role;

-- Name: FUNCTION accept_invitation_v2(token_hash text, user_id uuid, new_user_full_name text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.accept_invitation_v2(token_hash text, user_id uuid, new_user_full_name text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.accept_invitation_v2(token_hash text, user_id uuid, new_user_full_name text) TO service_role;

-- Name: FUNCTION ai_reply_blocker(conversation_id uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.ai_reply_blocker(conversation_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.ai_reply_blocker(conversation_id uuid) TO service_role;

-- Name: FUNCTION ai_reply_pending(conversation_id uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.ai_reply_pending(conversation_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.ai_reply_pending(conversation_id uuid) TO service_role;

-- Name: TABLE messages; Type: ACL; Schema: public

GRANT ALL ON TABLE public.messages TO service_role;
GRANT SELECT ON TABLE public.messages TO authenticated;

-- Name: FUNCTION announce_message_change(the_message public.messages); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.announce_message_change(the_message public.messages) FROM PUBLIC;
GRANT ALL ON FUNCTION private.announce_message_change(the_message public.messages) TO service_role;

-- Name: FUNCTION api_key_of_caller(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.api_key_of_caller() FROM PUBLIC;
GRANT ALL ON FUNCTION private.api_key_of_caller() TO service_role;

-- Name: FUNCTION assert_organization_has_owner(organization uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.assert_organization_has_owner(organization uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.assert_organization_has_owner(organization uuid) TO service_role;

-- Name: TABLE conversations; Type: ACL; Schema: public

GRANT ALL ON TABLE public.conversations TO service_role;
GRANT SELECT ON TABLE public.conversations TO authenticated;

-- Name: COLUMN conversations.status; Type: ACL; Schema: public

GRANT UPDATE(status) ON TABLE public.conversations TO authenticated;

-- Name: COLUMN conversations.ai_enabled; Type: ACL; Schema: public

GRANT UPDATE(ai_enabled) ON TABLE public.conversations TO authenticated;

-- Name: COLUMN conversations.assignee_id; Type: ACL; Schema: public

GRANT UPDATE(assignee_id) ON TABLE public.conversations TO authenticated;

-- Name: COLUMN conversations.closed_at; Type: ACL; Schema: public

GRANT UPDATE(closed_at) ON TABLE public.conversations TO authenticated;

-- Name: FUNCTION attachments_problem(the_conversation public.conversations, files jsonb); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.attachments_problem(the_conversation public.conversations, files jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION private.attachments_problem(the_conversation public.conversations, files jsonb) TO service_role;

-- Name: FUNCTION broadcast_rate(kind public.channel_kind, setting numeric); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.broadcast_rate(kind public.channel_kind, setting numeric) FROM PUBLIC;
GRANT ALL ON FUNCTION private.broadcast_rate(kind public.channel_kind, setting numeric) TO service_role;
GRANT ALL ON FUNCTION private.broadcast_rate(kind public.channel_kind, setting numeric) TO authenticated;

-- Name: FUNCTION broadcast_recipient_state(recipient_status public.broadcast_recipient_status, message_status public.message_status); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.broadcast_recipient_state(recipient_status public.broadcast_recipient_status, message_status public.message_status) FROM PUBLIC;
GRANT ALL ON FUNCTION private.broadcast_recipient_state(recipient_status public.broadcast_recipient_status, message_status public.message_status) TO service_role;
GRANT ALL ON FUNCTION private.broadcast_recipient_state(recipient_status public.broadcast_recipient_status, message_status public.message_status) TO authenticated;

-- Name: FUNCTION caller_role_in(organization uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.caller_role_in(organization uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.caller_role_in(organization uuid) TO service_role;
GRANT ALL ON FUNCTION private.caller_role_in(organization uuid) TO authenticated;

-- Name: FUNCTION claim_broadcast_batch_v1(broadcast_id uuid, batch_size integer); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.claim_broadcast_batch_v1(broadcast_id uuid, batch_size integer) FROM PUBLIC;
GRANT ALL ON FUNCTION private.claim_broadcast_batch_v1(broadcast_id uuid, batch_size integer) TO service_role;

-- Name: FUNCTION claim_endpoint_disabled_notice_v1(endpoint_id uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.claim_endpoint_disabled_notice_v1(endpoint_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.claim_endpoint_disabled_notice_v1(endpoint_id uuid) TO service_role;

-- Name: FUNCTION claim_media_deletions_v1(batch_size integer); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.claim_media_deletions_v1(batch_size integer) FROM PUBLIC;
GRANT ALL ON FUNCTION private.claim_media_deletions_v1(batch_size integer) TO service_role;

-- Name: FUNCTION claim_outbound_message_v1(message_id uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.claim_outbound_message_v1(message_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.claim_outbound_message_v1(message_id uuid) TO service_role;

-- Name: FUNCTION claim_webhook_delivery_v1(delivery_id uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.claim_webhook_delivery_v1(delivery_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.claim_webhook_delivery_v1(delivery_id uuid) TO service_role;

-- Name: FUNCTION close_inactive_conversations_v1(batch_size integer); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.close_inactive_conversations_v1(batch_size integer) FROM PUBLIC;
GRANT ALL ON FUNCTION private.close_inactive_conversations_v1(batch_size integer) TO service_role;

-- Name: FUNCTION compact_usage_counters_v1(since timestamp with time zone, batch_size integer); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.compact_usage_counters_v1(since timestamp with time zone, batch_size integer) FROM PUBLIC;
GRANT ALL ON FUNCTION private.compact_usage_counters_v1(since timestamp with time zone, batch_size integer) TO service_role;

-- Name: FUNCTION consecutive_ai_retries(conversation_id uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.consecutive_ai_retries(conversation_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.consecutive_ai_retries(conversation_id uuid) TO service_role;

-- Name: FUNCTION contact_tags_are_valid(tags text[]); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.contact_tags_are_valid(tags text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION private.contact_tags_are_valid(tags text[]) TO authenticated;
GRANT ALL ON FUNCTION private.contact_tags_are_valid(tags text[]) TO service_role;

-- Name: FUNCTION continue_broadcast_v1(broadcast_id uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.continue_broadcast_v1(broadcast_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.continue_broadcast_v1(broadcast_id uuid) TO service_role;

-- Name: FUNCTION defer_job(task_name text, args jsonb, queue_name text, lock text, queueing_lock text, scheduled_at timestamp with time zone, reschedule boolean); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.defer_job(task_name text, args jsonb, queue_name text, lock text, queueing_lock text, scheduled_at timestamp with time zone, reschedule boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION private.defer_job(task_name text, args jsonb, queue_name text, lock text, queueing_lock text, scheduled_at timestamp with time zone, reschedule boolean) TO service_role;

-- Name: FUNCTION defer_knowledge_indexing(document_id uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.defer_knowledge_indexing(document_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.defer_knowledge_indexing(document_id uuid) TO service_role;

-- Name: FUNCTION defer_reply_job(conversation_id uuid, scheduled_at timestamp with time zone, reschedule boolean); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.defer_reply_job(conversation_id uuid, scheduled_at timestamp with time zone, reschedule boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION private.defer_reply_job(conversation_id uuid, scheduled_at timestamp with time zone, reschedule boolean) TO service_role;

-- Name: FUNCTION delete_expired_messages_v1(batch_size integer); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.delete_expired_messages_v1(batch_size integer) FROM PUBLIC;
GRANT ALL ON FUNCTION private.delete_expired_messages_v1(batch_size integer) TO service_role;

-- Name: FUNCTION delete_jobs_naming(ids text[]); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.delete_jobs_naming(ids text[]) FROM PUBLIC;

-- Name: FUNCTION end_other_sessions_v1(user_id uuid, kept uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.end_other_sessions_v1(user_id uuid, kept uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.end_other_sessions_v1(user_id uuid, kept uuid) TO service_role;

-- Name: FUNCTION fail_knowledge_document_v1(document_id uuid, revision integer, error text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.fail_knowledge_document_v1(document_id uuid, revision integer, error text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.fail_knowledge_document_v1(document_id uuid, revision integer, error text) TO service_role;

-- Name: FUNCTION fail_outbound_message(message_id uuid, error_code text, error_message text, status public.message_status); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.fail_outbound_message(message_id uuid, error_code text, error_message text, status public.message_status) FROM PUBLIC;
GRANT ALL ON FUNCTION private.fail_outbound_message(message_id uuid, error_code text, error_message text, status public.message_status) TO service_role;

-- Name: FUNCTION fail_outbound_message_v1(message_id uuid, error_code text, error_message text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.fail_outbound_message_v1(message_id uuid, error_code text, error_message text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.fail_outbound_message_v1(message_id uuid, error_code text, error_message text) TO service_role;

-- Name: FUNCTION give_up_broadcast_v1(broadcast_id uuid, reason text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.give_up_broadcast_v1(broadcast_id uuid, reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.give_up_broadcast_v1(broadcast_id uuid, reason text) TO service_role;

-- Name: FUNCTION give_up_scheduled_message_v1(scheduled_message_id uuid, reason text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.give_up_scheduled_message_v1(scheduled_message_id uuid, reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.give_up_scheduled_message_v1(scheduled_message_id uuid, reason text) TO service_role;

-- Name: FUNCTION hand_off_conversation(conversation_id uuid, reason text, source text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.hand_off_conversation(conversation_id uuid, reason text, source text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.hand_off_conversation(conversation_id uuid, reason text, source text) TO service_role;

-- Name: FUNCTION has_another_owner(organization uuid, excluded_user uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.has_another_owner(organization uuid, excluded_user uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.has_another_owner(organization uuid, excluded_user uuid) TO service_role;

-- Name: FUNCTION ingest_inbound_message_v1(channel_id uuid, message_sid text, from_number text, body text, media jsonb, profile_name text, opt_out_type text, metadata jsonb); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.ingest_inbound_message_v1(channel_id uuid, message_sid text, from_number text, body text, media jsonb, profile_name text, opt_out_type text, metadata jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION private.ingest_inbound_message_v1(channel_id uuid, message_sid text, from_number text, body text, media jsonb, profile_name text, opt_out_type text, metadata jsonb) TO service_role;

-- Name: FUNCTION invitation_email_v1(token_hash text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.invitation_email_v1(token_hash text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.invitation_email_v1(token_hash text) TO service_role;

-- Name: FUNCTION invite_member_v2(actor uuid, organization_id uuid, email text, role public.membership_role, token_hash text, ttl interval); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.invite_member_v2(actor uuid, organization_id uuid, email text, role public.membership_role, token_hash text, ttl interval) FROM PUBLIC;
GRANT ALL ON FUNCTION private.invite_member_v2(actor uuid, organization_id uuid, email text, role public.membership_role, token_hash text, ttl interval) TO service_role;

-- Name: FUNCTION issue_account_token_v1(user_id uuid, purpose text, token_hash text, ttl interval); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.issue_account_token_v1(user_id uuid, purpose text, token_hash text, ttl interval) FROM PUBLIC;
GRANT ALL ON FUNCTION private.issue_account_token_v1(user_id uuid, purpose text, token_hash text, ttl interval) TO service_role;

-- Name: FUNCTION issue_password_reset_v1(email text, token_hash text, ttl interval); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.issue_password_reset_v1(email text, token_hash text, ttl interval) FROM PUBLIC;
GRANT ALL ON FUNCTION private.issue_password_reset_v1(email text, token_hash text, ttl interval) TO service_role;

-- Name: FUNCTION knowledge_full_text_matches_v1(organization uuid, query tsquery, candidates integer); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.knowledge_full_text_matches_v1(organization uuid, query tsquery, candidates integer) FROM PUBLIC;
GRANT ALL ON FUNCTION private.knowledge_full_text_matches_v1(organization uuid, query tsquery, candidates integer) TO authenticated;
GRANT ALL ON FUNCTION private.knowledge_full_text_matches_v1(organization uuid, query tsquery, candidates integer) TO service_role;

-- Name: FUNCTION lock_organization_for_member_change(organization uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.lock_organization_for_member_change(organization uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.lock_organization_for_member_change(organization uuid) TO service_role;

-- Name: FUNCTION maintain_message_partitions(ahead integer, as_of timestamp with time zone); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.maintain_message_partitions(ahead integer, as_of timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION private.maintain_message_partitions(ahead integer, as_of timestamp with time zone) TO service_role;

-- Name: FUNCTION mark_delivery_unknown_v1(message_id uuid, error_message text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.mark_delivery_unknown_v1(message_id uuid, error_message text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.mark_delivery_unknown_v1(message_id uuid, error_message text) TO service_role;

-- Name: FUNCTION media_item_awaits_transcript(item jsonb); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.media_item_awaits_transcript(item jsonb) FROM PUBLIC;

-- Name: FUNCTION message_created_at(message_id uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.message_created_at(message_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.message_created_at(message_id uuid) TO service_role;

-- Name: FUNCTION message_location(metadata jsonb); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.message_location(metadata jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION private.message_location(metadata jsonb) TO authenticated;
GRANT ALL ON FUNCTION private.message_location(metadata jsonb) TO service_role;

-- Name: FUNCTION message_partition_months(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.message_partition_months() FROM PUBLIC;
GRANT ALL ON FUNCTION private.message_partition_months() TO service_role;

-- Name: FUNCTION message_status_may_advance(current public.message_status, next public.message_status); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.message_status_may_advance(current public.message_status, next public.message_status) FROM PUBLIC;
GRANT ALL ON FUNCTION private.message_status_may_advance(current public.message_status, next public.message_status) TO service_role;

-- Name: FUNCTION message_status_of_parts(parts jsonb, part_count integer); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.message_status_of_parts(parts jsonb, part_count integer) FROM PUBLIC;
GRANT ALL ON FUNCTION private.message_status_of_parts(parts jsonb, part_count integer) TO service_role;

-- Name: FUNCTION message_status_rank(status public.message_status); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.message_status_rank(status public.message_status) FROM PUBLIC;
GRANT ALL ON FUNCTION private.message_status_rank(status public.message_status) TO service_role;

-- Name: FUNCTION normalize_contact_tags(tags text[]); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.normalize_contact_tags(tags text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION private.normalize_contact_tags(tags text[]) TO authenticated;
GRANT ALL ON FUNCTION private.normalize_contact_tags(tags text[]) TO service_role;

-- Name: FUNCTION normalize_email(email text, parameter text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.normalize_email(email text, parameter text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.normalize_email(email text, parameter text) TO service_role;

-- Name: FUNCTION organizations_of_caller(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.organizations_of_caller() FROM PUBLIC;
GRANT ALL ON FUNCTION private.organizations_of_caller() TO service_role;
GRANT ALL ON FUNCTION private.organizations_of_caller() TO authenticated;

-- Name: FUNCTION organizations_where_caller_is(roles public.membership_role[]); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.organizations_where_caller_is(roles public.membership_role[]) FROM PUBLIC;
GRANT ALL ON FUNCTION private.organizations_where_caller_is(roles public.membership_role[]) TO service_role;
GRANT ALL ON FUNCTION private.organizations_where_caller_is(roles public.membership_role[]) TO authenticated;

-- Name: FUNCTION publish_event(organization_id uuid, kind text, payload jsonb); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.publish_event(organization_id uuid, kind text, payload jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION private.publish_event(organization_id uuid, kind text, payload jsonb) TO service_role;

-- Name: FUNCTION purge_account_tokens_v1(keep interval); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.purge_account_tokens_v1(keep interval) FROM PUBLIC;
GRANT ALL ON FUNCTION private.purge_account_tokens_v1(keep interval) TO service_role;

-- Name: FUNCTION purge_rate_limits_v1(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.purge_rate_limits_v1() FROM PUBLIC;
GRANT ALL ON FUNCTION private.purge_rate_limits_v1() TO service_role;

-- Name: FUNCTION purge_sessions_v1(keep interval); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.purge_sessions_v1(keep interval) FROM PUBLIC;
GRANT ALL ON FUNCTION private.purge_sessions_v1(keep interval) TO service_role;

-- Name: FUNCTION purge_webhook_attempts_v1(keep interval, batch integer); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.purge_webhook_attempts_v1(keep interval, batch integer) FROM PUBLIC;
GRANT ALL ON FUNCTION private.purge_webhook_attempts_v1(keep interval, batch integer) TO service_role;

-- Name: FUNCTION queue_mail_v1(recipient text, kind text, subject text, text text, html text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.queue_mail_v1(recipient text, kind text, subject text, text text, html text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.queue_mail_v1(recipient text, kind text, subject text, text text, html text) TO service_role;

-- Name: FUNCTION queue_media_deletions(gone_media jsonb); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.queue_media_deletions(gone_media jsonb) FROM PUBLIC;

-- Name: FUNCTION queue_outbound_message(conversation_id uuid, author public.message_author, body text, author_member_id uuid, is_error boolean, error_code text, error_message text, metadata jsonb); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.queue_outbound_message(conversation_id uuid, author public.message_author, body text, author_member_id uuid, is_error boolean, error_code text, error_message text, metadata jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION private.queue_outbound_message(conversation_id uuid, author public.message_author, body text, author_member_id uuid, is_error boolean, error_code text, error_message text, metadata jsonb) TO service_role;

-- Name: FUNCTION rate_limit_hit_v1(action text, key text, max integer, "window" interval); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.rate_limit_hit_v1(action text, key text, max integer, "window" interval) FROM PUBLIC;
GRANT ALL ON FUNCTION private.rate_limit_hit_v1(action text, key text, max integer, "window" interval) TO service_role;

-- Name: FUNCTION record_ai_fallback_v1(conversation_id uuid, error_code text, error_message text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.record_ai_fallback_v1(conversation_id uuid, error_code text, error_message text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer) FROM PUBLIC;
GRANT ALL ON FUNCTION private.record_ai_fallback_v1(conversation_id uuid, error_code text, error_message text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer) TO service_role;

-- Name: FUNCTION record_ai_handoff_v1(conversation_id uuid, reason text, model_text text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.record_ai_handoff_v1(conversation_id uuid, reason text, model_text text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer) FROM PUBLIC;
GRANT ALL ON FUNCTION private.record_ai_handoff_v1(conversation_id uuid, reason text, model_text text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer) TO service_role;

-- Name: FUNCTION record_ai_handoff_v2(conversation_id uuid, reason text, model_text text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer, knowledge_sources jsonb); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.record_ai_handoff_v2(conversation_id uuid, reason text, model_text text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer, knowledge_sources jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION private.record_ai_handoff_v2(conversation_id uuid, reason text, model_text text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer, knowledge_sources jsonb) TO service_role;

-- Name: FUNCTION record_ai_reply_v1(conversation_id uuid, body text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.record_ai_reply_v1(conversation_id uuid, body text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer) FROM PUBLIC;
GRANT ALL ON FUNCTION private.record_ai_reply_v1(conversation_id uuid, body text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer) TO service_role;

-- Name: FUNCTION record_ai_reply_v2(conversation_id uuid, body text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer, knowledge_sources jsonb); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.record_ai_reply_v2(conversation_id uuid, body text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer, knowledge_sources jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION private.record_ai_reply_v2(conversation_id uuid, body text, answered_through timestamp with time zone, model text, prompt_tokens integer, completion_tokens integer, latency_ms integer, knowledge_sources jsonb) TO service_role;

-- Name: FUNCTION record_ai_retry_v1(conversation_id uuid, model text, error text, retry_in_seconds double precision, latency_ms integer); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.record_ai_retry_v1(conversation_id uuid, model text, error text, retry_in_seconds double precision, latency_ms integer) FROM PUBLIC;
GRANT ALL ON FUNCTION private.record_ai_retry_v1(conversation_id uuid, model text, error text, retry_in_seconds double precision, latency_ms integer) TO service_role;

-- Name: FUNCTION record_ai_skip_v1(conversation_id uuid, model text, reason text, prompt_tokens integer, completion_tokens integer, latency_ms integer); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.record_ai_skip_v1(conversation_id uuid, model text, reason text, prompt_tokens integer, completion_tokens integer, latency_ms integer) FROM PUBLIC;
GRANT ALL ON FUNCTION private.record_ai_skip_v1(conversation_id uuid, model text, reason text, prompt_tokens integer, completion_tokens integer, latency_ms integer) TO service_role;

-- Name: FUNCTION record_api_key_uses_v1(api_key_ids uuid[], window_starts timestamp with time zone[], uses integer[], "window" interval); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.record_api_key_uses_v1(api_key_ids uuid[], window_starts timestamp with time zone[], uses integer[], "window" interval) FROM PUBLIC;
GRANT ALL ON FUNCTION private.record_api_key_uses_v1(api_key_ids uuid[], window_starts timestamp with time zone[], uses integer[], "window" interval) TO service_role;

-- Name: FUNCTION record_message_media_v1(message_id uuid, "position" integer, outcome jsonb); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.record_message_media_v1(message_id uuid, "position" integer, outcome jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION private.record_message_media_v1(message_id uuid, "position" integer, outcome jsonb) TO service_role;

-- Name: FUNCTION record_message_status_v1(message_id uuid, message_sid text, twilio_status text, part_index integer, part_count integer, error_code text, error_message text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.record_message_status_v1(message_id uuid, message_sid text, twilio_status text, part_index integer, part_count integer, error_code text, error_message text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.record_message_status_v1(message_id uuid, message_sid text, twilio_status text, part_index integer, part_count integer, error_code text, error_message text) TO service_role;

-- Name: FUNCTION record_message_transcript_v1(message_id uuid, "position" integer, outcome jsonb); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.record_message_transcript_v1(message_id uuid, "position" integer, outcome jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION private.record_message_transcript_v1(message_id uuid, "position" integer, outcome jsonb) TO service_role;

-- Name: FUNCTION record_webhook_attempt_v1(delivery_id uuid, status_code integer, duration_ms integer, error text, retry_at timestamp with time zone, disable_after interval); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.record_webhook_attempt_v1(delivery_id uuid, status_code integer, duration_ms integer, error text, retry_at timestamp with time zone, disable_after interval) FROM PUBLIC;
GRANT ALL ON FUNCTION private.record_webhook_attempt_v1(delivery_id uuid, status_code integer, duration_ms integer, error text, retry_at timestamp with time zone, disable_after interval) TO service_role;

-- Name: FUNCTION record_webhook_event(organization_id uuid, event_type text, data jsonb); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.record_webhook_event(organization_id uuid, event_type text, data jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION private.record_webhook_event(organization_id uuid, event_type text, data jsonb) TO service_role;

-- Name: FUNCTION refresh_session_v1(refresh_token_hash text, new_refresh_token_hash text, ttl interval); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.refresh_session_v1(refresh_token_hash text, new_refresh_token_hash text, ttl interval) FROM PUBLIC;
GRANT ALL ON FUNCTION private.refresh_session_v1(refresh_token_hash text, new_refresh_token_hash text, ttl interval) TO service_role;

-- Name: TABLE organizations; Type: ACL; Schema: public

GRANT ALL ON TABLE public.organizations TO service_role;
GRANT SELECT ON TABLE public.organizations TO authenticated;

-- Name: COLUMN organizations.name; Type: ACL; Schema: public

GRANT UPDATE(name) ON TABLE public.organizations TO authenticated;

-- Name: FUNCTION register_organization_v1(user_id uuid, organization_name text, full_name text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.register_organization_v1(user_id uuid, organization_name text, full_name text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.register_organization_v1(user_id uuid, organization_name text, full_name text) TO service_role;

-- Name: FUNCTION reindex_knowledge_v1(embedder text, include_current boolean); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.reindex_knowledge_v1(embedder text, include_current boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION private.reindex_knowledge_v1(embedder text, include_current boolean) TO service_role;

-- Name: FUNCTION release_pending_user_v1(user_id uuid, abandon boolean); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.release_pending_user_v1(user_id uuid, abandon boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION private.release_pending_user_v1(user_id uuid, abandon boolean) TO service_role;

-- Name: FUNCTION template_variables_are_valid(variables jsonb); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.template_variables_are_valid(variables jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION private.template_variables_are_valid(variables jsonb) TO service_role;
GRANT ALL ON FUNCTION private.template_variables_are_valid(variables jsonb) TO authenticated;

-- Name: TABLE channel_templates; Type: ACL; Schema: public

GRANT ALL ON TABLE public.channel_templates TO service_role;
GRANT SELECT,DELETE ON TABLE public.channel_templates TO authenticated;

-- Name: COLUMN channel_templates.organization_id; Type: ACL; Schema: public

GRANT INSERT(organization_id) ON TABLE public.channel_templates TO authenticated;

-- Name: COLUMN channel_templates.channel_id; Type: ACL; Schema: public

GRANT INSERT(channel_id) ON TABLE public.channel_templates TO authenticated;

-- Name: COLUMN channel_templates.name; Type: ACL; Schema: public

GRANT INSERT(name),UPDATE(name) ON TABLE public.channel_templates TO authenticated;

-- Name: COLUMN channel_templates.content_sid; Type: ACL; Schema: public

GRANT INSERT(content_sid),UPDATE(content_sid) ON TABLE public.channel_templates TO authenticated;

-- Name: COLUMN channel_templates.language; Type: ACL; Schema: public

GRANT INSERT(language),UPDATE(language) ON TABLE public.channel_templates TO authenticated;

-- Name: COLUMN channel_templates.variables; Type: ACL; Schema: public

GRANT INSERT(variables),UPDATE(variables) ON TABLE public.channel_templates TO authenticated;

-- Name: COLUMN channel_templates.body; Type: ACL; Schema: public

GRANT INSERT(body),UPDATE(body) ON TABLE public.channel_templates TO authenticated;

-- Name: FUNCTION render_template_message(the_template public.channel_templates, variables jsonb); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.render_template_message(the_template public.channel_templates, variables jsonb) FROM PUBLIC;

-- Name: FUNCTION requeue_outbound_message_v1(message_id uuid, error_code text, error_message text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.requeue_outbound_message_v1(message_id uuid, error_code text, error_message text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.requeue_outbound_message_v1(message_id uuid, error_code text, error_message text) TO service_role;

-- Name: FUNCTION require_text(value text, parameter text, max_length integer); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.require_text(value text, parameter text, max_length integer) FROM PUBLIC;
GRANT ALL ON FUNCTION private.require_text(value text, parameter text, max_length integer) TO service_role;

-- Name: FUNCTION rescue_unanswered_conversations_v1(grace interval, batch_size integer); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.rescue_unanswered_conversations_v1(grace interval, batch_size integer) FROM PUBLIC;
GRANT ALL ON FUNCTION private.rescue_unanswered_conversations_v1(grace interval, batch_size integer) TO service_role;

-- Name: FUNCTION reserve_user_v1(email text, purpose text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.reserve_user_v1(email text, purpose text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.reserve_user_v1(email text, purpose text) TO service_role;

-- Name: TABLE invitations; Type: ACL; Schema: public

GRANT ALL ON TABLE public.invitations TO service_role;

-- Name: COLUMN invitations.id; Type: ACL; Schema: public

GRANT SELECT(id) ON TABLE public.invitations TO authenticated;

-- Name: COLUMN invitations.organization_id; Type: ACL; Schema: public

GRANT SELECT(organization_id) ON TABLE public.invitations TO authenticated;

-- Name: COLUMN invitations.email; Type: ACL; Schema: public

GRANT SELECT(email) ON TABLE public.invitations TO authenticated;

-- Name: COLUMN invitations.role; Type: ACL; Schema: public

GRANT SELECT(role) ON TABLE public.invitations TO authenticated;

-- Name: COLUMN invitations.invited_by; Type: ACL; Schema: public

GRANT SELECT(invited_by) ON TABLE public.invitations TO authenticated;

-- Name: COLUMN invitations.created_at; Type: ACL; Schema: public

GRANT SELECT(created_at) ON TABLE public.invitations TO authenticated;

-- Name: COLUMN invitations.sent_at; Type: ACL; Schema: public

GRANT SELECT(sent_at) ON TABLE public.invitations TO authenticated;

-- Name: COLUMN invitations.expires_at; Type: ACL; Schema: public

GRANT SELECT(expires_at) ON TABLE public.invitations TO authenticated;

-- Name: COLUMN invitations.accepted_at; Type: ACL; Schema: public

GRANT SELECT(accepted_at) ON TABLE public.invitations TO authenticated;

-- Name: COLUMN invitations.accepted_by; Type: ACL; Schema: public

GRANT SELECT(accepted_by) ON TABLE public.invitations TO authenticated;

-- Name: COLUMN invitations.revoked_at; Type: ACL; Schema: public

GRANT SELECT(revoked_at) ON TABLE public.invitations TO authenticated;

-- Name: FUNCTION revoke_invitation_v1(actor uuid, invitation_id uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.revoke_invitation_v1(actor uuid, invitation_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.revoke_invitation_v1(actor uuid, invitation_id uuid) TO service_role;

-- Name: FUNCTION revoke_session_by_refresh_token_v1(refresh_token_hash text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.revoke_session_by_refresh_token_v1(refresh_token_hash text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.revoke_session_by_refresh_token_v1(refresh_token_hash text) TO service_role;

-- Name: FUNCTION revoke_session_v1(session_id uuid, user_id uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.revoke_session_v1(session_id uuid, user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.revoke_session_v1(session_id uuid, user_id uuid) TO service_role;

-- Name: FUNCTION role_in(organization uuid, actor uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.role_in(organization uuid, actor uuid) FROM PUBLIC;

-- Name: FUNCTION send_due_follow_ups_v1(batch_size integer); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.send_due_follow_ups_v1(batch_size integer) FROM PUBLIC;
GRANT ALL ON FUNCTION private.send_due_follow_ups_v1(batch_size integer) TO service_role;

-- Name: FUNCTION send_scheduled_message_v1(scheduled_message_id uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.send_scheduled_message_v1(scheduled_message_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.send_scheduled_message_v1(scheduled_message_id uuid) TO service_role;

-- Name: FUNCTION start_ai_reply_v1(conversation_id uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.start_ai_reply_v1(conversation_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.start_ai_reply_v1(conversation_id uuid) TO service_role;

-- Name: FUNCTION start_ai_reply_v2(conversation_id uuid); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.start_ai_reply_v2(conversation_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION private.start_ai_reply_v2(conversation_id uuid) TO service_role;

-- Name: FUNCTION start_ai_reply_v3(conversation_id uuid, media_wait_seconds double precision); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.start_ai_reply_v3(conversation_id uuid, media_wait_seconds double precision) FROM PUBLIC;
GRANT ALL ON FUNCTION private.start_ai_reply_v3(conversation_id uuid, media_wait_seconds double precision) TO service_role;

-- Name: FUNCTION start_session_v1(user_id uuid, refresh_token_hash text, ttl interval); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.start_session_v1(user_id uuid, refresh_token_hash text, ttl interval) FROM PUBLIC;
GRANT ALL ON FUNCTION private.start_session_v1(user_id uuid, refresh_token_hash text, ttl interval) TO service_role;

-- Name: FUNCTION store_knowledge_passages_v1(document_id uuid, revision integer, embedder text, passages jsonb); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.store_knowledge_passages_v1(document_id uuid, revision integer, embedder text, passages jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION private.store_knowledge_passages_v1(document_id uuid, revision integer, embedder text, passages jsonb) TO service_role;

-- Name: FUNCTION subscription_intent(body text, opt_out_type text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.subscription_intent(body text, opt_out_type text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.subscription_intent(body text, opt_out_type text) TO service_role;

-- Name: FUNCTION subscription_keyword(body text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.subscription_keyword(body text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.subscription_keyword(body text) TO service_role;

-- Name: FUNCTION tg__set_updated_at(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg__set_updated_at() FROM PUBLIC;

-- Name: FUNCTION tg_agents__follow_up_template_without_variables(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_agents__follow_up_template_without_variables() FROM PUBLIC;

-- Name: FUNCTION tg_ai_runs__count_usage(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_ai_runs__count_usage() FROM PUBLIC;

-- Name: FUNCTION tg_contacts__webhook_events(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_contacts__webhook_events() FROM PUBLIC;

-- Name: FUNCTION tg_conversation_reads__set_organization(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_conversation_reads__set_organization() FROM PUBLIC;

-- Name: FUNCTION tg_conversations__assignee_is_member(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_conversations__assignee_is_member() FROM PUBLIC;

-- Name: FUNCTION tg_conversations__publish_changes(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_conversations__publish_changes() FROM PUBLIC;

-- Name: FUNCTION tg_conversations__webhook_events(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_conversations__webhook_events() FROM PUBLIC;

-- Name: FUNCTION tg_memberships__keep_an_owner(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_memberships__keep_an_owner() FROM PUBLIC;

-- Name: FUNCTION tg_messages__claim_keys(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_messages__claim_keys() FROM PUBLIC;

-- Name: FUNCTION tg_messages__count_usage(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_messages__count_usage() FROM PUBLIC;

-- Name: FUNCTION tg_messages__fetch_media(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_messages__fetch_media() FROM PUBLIC;

-- Name: FUNCTION tg_messages__forget(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_messages__forget() FROM PUBLIC;

-- Name: FUNCTION tg_messages__media_changed(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_messages__media_changed() FROM PUBLIC;

-- Name: FUNCTION tg_messages__publish_changes(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_messages__publish_changes() FROM PUBLIC;

-- Name: FUNCTION tg_messages__webhook_events(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_messages__webhook_events() FROM PUBLIC;

-- Name: FUNCTION tg_organizations__create_agent(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_organizations__create_agent() FROM PUBLIC;

-- Name: FUNCTION tg_organizations__need_an_owner(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_organizations__need_an_owner() FROM PUBLIC;

-- Name: FUNCTION tg_webhook_endpoints__enabled_again(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.tg_webhook_endpoints__enabled_again() FROM PUBLIC;

-- Name: FUNCTION twilio_message_status(twilio_status text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.twilio_message_status(twilio_status text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.twilio_message_status(twilio_status text) TO service_role;

-- Name: FUNCTION unuse_account_token_v1(token_hash text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.unuse_account_token_v1(token_hash text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.unuse_account_token_v1(token_hash text) TO service_role;

-- Name: FUNCTION usage_hour(at timestamp with time zone); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.usage_hour(at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION private.usage_hour(at timestamp with time zone) TO service_role;

-- Name: FUNCTION use_account_token_v1(token_hash text, purpose text); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.use_account_token_v1(token_hash text, purpose text) FROM PUBLIC;
GRANT ALL ON FUNCTION private.use_account_token_v1(token_hash text, purpose text) TO service_role;

-- Name: TABLE contacts; Type: ACL; Schema: public

GRANT ALL ON TABLE public.contacts TO service_role;
GRANT SELECT ON TABLE public.contacts TO authenticated;

-- Name: COLUMN contacts.display_name; Type: ACL; Schema: public

GRANT UPDATE(display_name) ON TABLE public.contacts TO authenticated;

-- Name: FUNCTION webhook_contact_data(ct public.contacts); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.webhook_contact_data(ct public.contacts) FROM PUBLIC;
GRANT ALL ON FUNCTION private.webhook_contact_data(ct public.contacts) TO service_role;

-- Name: FUNCTION webhook_conversation_data(c public.conversations); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.webhook_conversation_data(c public.conversations) FROM PUBLIC;
GRANT ALL ON FUNCTION private.webhook_conversation_data(c public.conversations) TO service_role;

-- Name: FUNCTION webhook_event_types(); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.webhook_event_types() FROM PUBLIC;
GRANT ALL ON FUNCTION private.webhook_event_types() TO service_role;
GRANT ALL ON FUNCTION private.webhook_event_types() TO authenticated;

-- Name: FUNCTION webhook_message_data(m public.messages); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.webhook_message_data(m public.messages) FROM PUBLIC;
GRANT ALL ON FUNCTION private.webhook_message_data(m public.messages) TO service_role;

-- Name: FUNCTION window_end(kind public.channel_kind, last_inbound_at timestamp with time zone); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.window_end(kind public.channel_kind, last_inbound_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION private.window_end(kind public.channel_kind, last_inbound_at timestamp with time zone) TO service_role;
GRANT ALL ON FUNCTION private.window_end(kind public.channel_kind, last_inbound_at timestamp with time zone) TO authenticated;

-- Name: FUNCTION write_contact_import_v1(import_id uuid, rows jsonb); Type: ACL; Schema: private

REVOKE ALL ON FUNCTION private.write_contact_import_v1(import_id uuid, rows jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION private.write_contact_import_v1(import_id uuid, rows jsonb) TO service_role;

-- Name: FUNCTION add_knowledge_document_v1(organization_id uuid, title text, content text, source_format text, file_name text); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.add_knowledge_document_v1(organization_id uuid, title text, content text, source_format text, file_name text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.add_knowledge_document_v1(organization_id uuid, title text, content text, source_format text, file_name text) TO authenticated;
GRANT ALL ON FUNCTION public.add_knowledge_document_v1(organization_id uuid, title text, content text, source_format text, file_name text) TO service_role;

-- Name: FUNCTION cancel_broadcast_v1(broadcast_id uuid); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.cancel_broadcast_v1(broadcast_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.cancel_broadcast_v1(broadcast_id uuid) TO service_role;
GRANT ALL ON FUNCTION public.cancel_broadcast_v1(broadcast_id uuid) TO authenticated;

-- Name: FUNCTION cancel_scheduled_message_v1(scheduled_message_id uuid); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.cancel_scheduled_message_v1(scheduled_message_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.cancel_scheduled_message_v1(scheduled_message_id uuid) TO authenticated;

-- Name: FUNCTION create_api_key_v1(organization_id uuid, name text, role public.membership_role); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.create_api_key_v1(organization_id uuid, name text, role public.membership_role) FROM PUBLIC;
GRANT ALL ON FUNCTION public.create_api_key_v1(organization_id uuid, name text, role public.membership_role) TO service_role;
GRANT ALL ON FUNCTION public.create_api_key_v1(organization_id uuid, name text, role public.membership_role) TO authenticated;

-- Name: FUNCTION create_broadcast_v1(channel_id uuid, template_id uuid, variables jsonb, contact_ids uuid[], tag text); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.create_broadcast_v1(channel_id uuid, template_id uuid, variables jsonb, contact_ids uuid[], tag text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.create_broadcast_v1(channel_id uuid, template_id uuid, variables jsonb, contact_ids uuid[], tag text) TO service_role;
GRANT ALL ON FUNCTION public.create_broadcast_v1(channel_id uuid, template_id uuid, variables jsonb, contact_ids uuid[], tag text) TO authenticated;

-- Name: FUNCTION create_contact_import_v1(organization_id uuid, file_name text, source text, total_rows integer); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.create_contact_import_v1(organization_id uuid, file_name text, source text, total_rows integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.create_contact_import_v1(organization_id uuid, file_name text, source text, total_rows integer) TO authenticated;
GRANT ALL ON FUNCTION public.create_contact_import_v1(organization_id uuid, file_name text, source text, total_rows integer) TO service_role;

-- Name: FUNCTION create_contact_v1(organization_id uuid, phone_number text, display_name text, attributes jsonb, tags text[]); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.create_contact_v1(organization_id uuid, phone_number text, display_name text, attributes jsonb, tags text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION public.create_contact_v1(organization_id uuid, phone_number text, display_name text, attributes jsonb, tags text[]) TO authenticated;
GRANT ALL ON FUNCTION public.create_contact_v1(organization_id uuid, phone_number text, display_name text, attributes jsonb, tags text[]) TO service_role;

-- Name: TABLE contact_erasures; Type: ACL; Schema: public

GRANT ALL ON TABLE public.contact_erasures TO service_role;
GRANT SELECT ON TABLE public.contact_erasures TO authenticated;

-- Name: FUNCTION erase_contact_v1(contact_id uuid); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.erase_contact_v1(contact_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.erase_contact_v1(contact_id uuid) TO authenticated;
GRANT ALL ON FUNCTION public.erase_contact_v1(contact_id uuid) TO service_role;

-- Name: FUNCTION redeliver_webhook_v1(delivery_id uuid); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.redeliver_webhook_v1(delivery_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.redeliver_webhook_v1(delivery_id uuid) TO service_role;
GRANT ALL ON FUNCTION public.redeliver_webhook_v1(delivery_id uuid) TO authenticated;

-- Name: FUNCTION remove_knowledge_document_v1(document_id uuid); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.remove_knowledge_document_v1(document_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.remove_knowledge_document_v1(document_id uuid) TO authenticated;
GRANT ALL ON FUNCTION public.remove_knowledge_document_v1(document_id uuid) TO service_role;

-- Name: TABLE memberships; Type: ACL; Schema: public

GRANT ALL ON TABLE public.memberships TO service_role;
GRANT SELECT ON TABLE public.memberships TO authenticated;

-- Name: FUNCTION remove_member_v1(organization_id uuid, user_id uuid); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.remove_member_v1(organization_id uuid, user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.remove_member_v1(organization_id uuid, user_id uuid) TO service_role;
GRANT ALL ON FUNCTION public.remove_member_v1(organization_id uuid, user_id uuid) TO authenticated;

-- Name: FUNCTION revoke_api_key_v1(api_key_id uuid); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.revoke_api_key_v1(api_key_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.revoke_api_key_v1(api_key_id uuid) TO service_role;
GRANT ALL ON FUNCTION public.revoke_api_key_v1(api_key_id uuid) TO authenticated;

-- Name: FUNCTION schedule_message_v1(conversation_id uuid, send_at timestamp with time zone, body text, template_id uuid, variables jsonb); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.schedule_message_v1(conversation_id uuid, send_at timestamp with time zone, body text, template_id uuid, variables jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION public.schedule_message_v1(conversation_id uuid, send_at timestamp with time zone, body text, template_id uuid, variables jsonb) TO authenticated;

-- Name: FUNCTION send_member_message_v1(conversation_id uuid, body text); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.send_member_message_v1(conversation_id uuid, body text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.send_member_message_v1(conversation_id uuid, body text) TO service_role;
GRANT ALL ON FUNCTION public.send_member_message_v1(conversation_id uuid, body text) TO authenticated;

-- Name: FUNCTION send_member_message_v2(conversation_id uuid, body text, media jsonb); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.send_member_message_v2(conversation_id uuid, body text, media jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION public.send_member_message_v2(conversation_id uuid, body text, media jsonb) TO service_role;
GRANT ALL ON FUNCTION public.send_member_message_v2(conversation_id uuid, body text, media jsonb) TO authenticated;

-- Name: FUNCTION send_template_message_v1(conversation_id uuid, template_id uuid, variables jsonb); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.send_template_message_v1(conversation_id uuid, template_id uuid, variables jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION public.send_template_message_v1(conversation_id uuid, template_id uuid, variables jsonb) TO service_role;
GRANT ALL ON FUNCTION public.send_template_message_v1(conversation_id uuid, template_id uuid, variables jsonb) TO authenticated;

-- Name: FUNCTION set_message_retention_v1(organization_id uuid, days integer); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.set_message_retention_v1(organization_id uuid, days integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.set_message_retention_v1(organization_id uuid, days integer) TO authenticated;
GRANT ALL ON FUNCTION public.set_message_retention_v1(organization_id uuid, days integer) TO service_role;

-- Name: FUNCTION start_conversation_v1(channel_id uuid, phone_number text, template_id uuid, variables jsonb); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.start_conversation_v1(channel_id uuid, phone_number text, template_id uuid, variables jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION public.start_conversation_v1(channel_id uuid, phone_number text, template_id uuid, variables jsonb) TO authenticated;
GRANT ALL ON FUNCTION public.start_conversation_v1(channel_id uuid, phone_number text, template_id uuid, variables jsonb) TO service_role;

-- Name: FUNCTION update_contact_v1(contact_id uuid, display_name text, attributes jsonb, tags text[]); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.update_contact_v1(contact_id uuid, display_name text, attributes jsonb, tags text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION public.update_contact_v1(contact_id uuid, display_name text, attributes jsonb, tags text[]) TO authenticated;
GRANT ALL ON FUNCTION public.update_contact_v1(contact_id uuid, display_name text, attributes jsonb, tags text[]) TO service_role;

-- Name: FUNCTION update_knowledge_document_v1(document_id uuid, title text, content text, source_format text, file_name text); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.update_knowledge_document_v1(document_id uuid, title text, content text, source_format text, file_name text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.update_knowledge_document_v1(document_id uuid, title text, content text, source_format text, file_name text) TO authenticated;
GRANT ALL ON FUNCTION public.update_knowledge_document_v1(document_id uuid, title text, content text, source_format text, file_name text) TO service_role;

-- Name: FUNCTION update_member_role_v1(organization_id uuid, user_id uuid, role public.membership_role); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.update_member_role_v1(organization_id uuid, user_id uuid, role public.membership_role) FROM PUBLIC;
GRANT ALL ON FUNCTION public.update_member_role_v1(organization_id uuid, user_id uuid, role public.membership_role) TO service_role;
GRANT ALL ON FUNCTION public.update_member_role_v1(organization_id uuid, user_id uuid, role public.membership_role) TO authenticated;

-- Name: FUNCTION window_expires_at(conversation public.conversations); Type: ACL; Schema: public

REVOKE ALL ON FUNCTION public.window_expires_at(conversation public.conversations) FROM PUBLIC;
GRANT ALL ON FUNCTION public.window_expires_at(conversation public.conversations) TO service_role;
GRANT ALL ON FUNCTION public.window_expires_at(conversation public.conversations) TO authenticated;

-- Name: TABLE account_tokens; Type: ACL; Schema: private

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE private.account_tokens TO service_role;

-- Name: TABLE channels; Type: ACL; Schema: public

GRANT ALL ON TABLE public.channels TO service_role;

-- Name: COLUMN channels.id; Type: ACL; Schema: public

GRANT SELECT(id) ON TABLE public.channels TO authenticated;

-- Name: COLUMN channels.organization_id; Type: ACL; Schema: public

GRANT SELECT(organization_id),INSERT(organization_id) ON TABLE public.channels TO authenticated;

-- Name: COLUMN channels.kind; Type: ACL; Schema: public

GRANT SELECT(kind),INSERT(kind) ON TABLE public.channels TO authenticated;

-- Name: COLUMN channels.phone_number; Type: ACL; Schema: public

GRANT SELECT(phone_number),INSERT(phone_number) ON TABLE public.channels TO authenticated;

-- Name: COLUMN channels.display_name; Type: ACL; Schema: public

GRANT SELECT(display_name),INSERT(display_name),UPDATE(display_name) ON TABLE public.channels TO authenticated;

-- Name: COLUMN channels.twilio_account_sid; Type: ACL; Schema: public

GRANT SELECT(twilio_account_sid),INSERT(twilio_account_sid),UPDATE(twilio_account_sid) ON TABLE public.channels TO authenticated;

-- Name: COLUMN channels.twilio_auth_token_ciphertext; Type: ACL; Schema: public

GRANT INSERT(twilio_auth_token_ciphertext),UPDATE(twilio_auth_token_ciphertext) ON TABLE public.channels TO authenticated;

-- Name: COLUMN channels.enabled; Type: ACL; Schema: public

GRANT SELECT(enabled),UPDATE(enabled) ON TABLE public.channels TO authenticated;

-- Name: COLUMN channels.created_at; Type: ACL; Schema: public

GRANT SELECT(created_at) ON TABLE public.channels TO authenticated;

-- Name: COLUMN channels.updated_at; Type: ACL; Schema: public

GRANT SELECT(updated_at) ON TABLE public.channels TO authenticated;

-- Name: COLUMN channels.broadcast_rate_per_second; Type: ACL; Schema: public

GRANT SELECT(broadcast_rate_per_second),UPDATE(broadcast_rate_per_second) ON TABLE public.channels TO authenticated;

-- Name: TABLE conversations_with_window; Type: ACL; Schema: private

GRANT SELECT ON TABLE private.conversations_with_window TO authenticated;
GRANT SELECT ON TABLE private.conversations_with_window TO service_role;

-- Name: TABLE inbox_entries; Type: ACL; Schema: private

GRANT SELECT ON TABLE private.inbox_entries TO authenticated;
GRANT SELECT ON TABLE private.inbox_entries TO service_role;

-- Name: TABLE mail_outbox; Type: ACL; Schema: private

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE private.mail_outbox TO service_role;

-- Name: TABLE media_deletions; Type: ACL; Schema: private

GRANT ALL ON TABLE private.media_deletions TO service_role;

-- Name: TABLE message_broadcast_recipients; Type: ACL; Schema: private

GRANT SELECT ON TABLE private.message_broadcast_recipients TO service_role;

-- Name: TABLE message_sids; Type: ACL; Schema: private

GRANT SELECT ON TABLE private.message_sids TO service_role;

-- Name: TABLE refresh_tokens; Type: ACL; Schema: private

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE private.refresh_tokens TO service_role;

-- Name: TABLE sessions; Type: ACL; Schema: private

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE private.sessions TO service_role;

-- Name: TABLE agents; Type: ACL; Schema: public

GRANT ALL ON TABLE public.agents TO service_role;
GRANT SELECT ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.name; Type: ACL; Schema: public

GRANT UPDATE(name) ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.system_prompt; Type: ACL; Schema: public

GRANT UPDATE(system_prompt) ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.model; Type: ACL; Schema: public

GRANT UPDATE(model) ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.temperature; Type: ACL; Schema: public

GRANT UPDATE(temperature) ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.history_messages; Type: ACL; Schema: public

GRANT UPDATE(history_messages) ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.history_tokens; Type: ACL; Schema: public

GRANT UPDATE(history_tokens) ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.debounce_seconds; Type: ACL; Schema: public

GRANT UPDATE(debounce_seconds) ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.fallback_message; Type: ACL; Schema: public

GRANT UPDATE(fallback_message) ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.handoff_message; Type: ACL; Schema: public

GRANT UPDATE(handoff_message) ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.inactivity_hours; Type: ACL; Schema: public

GRANT UPDATE(inactivity_hours) ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.follow_up_message; Type: ACL; Schema: public

GRANT UPDATE(follow_up_message) ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.follow_up_after_minutes; Type: ACL; Schema: public

GRANT UPDATE(follow_up_after_minutes) ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.ai_enabled; Type: ACL; Schema: public

GRANT UPDATE(ai_enabled) ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.knowledge_enabled; Type: ACL; Schema: public

GRANT UPDATE(knowledge_enabled) ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.knowledge_passages; Type: ACL; Schema: public

GRANT UPDATE(knowledge_passages) ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.answer_only_from_knowledge; Type: ACL; Schema: public

GRANT UPDATE(answer_only_from_knowledge) ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.follow_up_template_id; Type: ACL; Schema: public

GRANT UPDATE(follow_up_template_id) ON TABLE public.agents TO authenticated;

-- Name: COLUMN agents.vision_enabled; Type: ACL; Schema: public

GRANT UPDATE(vision_enabled) ON TABLE public.agents TO authenticated;

-- Name: TABLE ai_runs; Type: ACL; Schema: public

GRANT ALL ON TABLE public.ai_runs TO service_role;
GRANT SELECT ON TABLE public.ai_runs TO authenticated;

-- Name: TABLE api_keys; Type: ACL; Schema: public

GRANT SELECT ON TABLE public.api_keys TO service_role;

-- Name: COLUMN api_keys.id; Type: ACL; Schema: public

GRANT SELECT(id) ON TABLE public.api_keys TO authenticated;

-- Name: COLUMN api_keys.organization_id; Type: ACL; Schema: public

GRANT SELECT(organization_id) ON TABLE public.api_keys TO authenticated;

-- Name: COLUMN api_keys.name; Type: ACL; Schema: public

GRANT SELECT(name) ON TABLE public.api_keys TO authenticated;

-- Name: COLUMN api_keys.role; Type: ACL; Schema: public

GRANT SELECT(role) ON TABLE public.api_keys TO authenticated;

-- Name: COLUMN api_keys.prefix; Type: ACL; Schema: public

GRANT SELECT(prefix) ON TABLE public.api_keys TO authenticated;

-- Name: COLUMN api_keys.created_by; Type: ACL; Schema: public

GRANT SELECT(created_by) ON TABLE public.api_keys TO authenticated;

-- Name: COLUMN api_keys.created_at; Type: ACL; Schema: public

GRANT SELECT(created_at) ON TABLE public.api_keys TO authenticated;

-- Name: COLUMN api_keys.last_used_at; Type: ACL; Schema: public

GRANT SELECT(last_used_at) ON TABLE public.api_keys TO authenticated;
GRANT UPDATE(last_used_at) ON TABLE public.api_keys TO service_role;

-- Name: COLUMN api_keys.revoked_at; Type: ACL; Schema: public

GRANT SELECT(revoked_at) ON TABLE public.api_keys TO authenticated;

-- Name: COLUMN api_keys.revoked_by; Type: ACL; Schema: public

GRANT SELECT(revoked_by) ON TABLE public.api_keys TO authenticated;

-- Name: TABLE broadcast_recipients; Type: ACL; Schema: public

GRANT SELECT ON TABLE public.broadcast_recipients TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.broadcast_recipients TO service_role;

-- Name: TABLE broadcasts; Type: ACL; Schema: public

GRANT SELECT ON TABLE public.broadcasts TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.broadcasts TO service_role;

-- Name: TABLE contact_imports; Type: ACL; Schema: public

GRANT SELECT,UPDATE ON TABLE public.contact_imports TO service_role;

-- Name: COLUMN contact_imports.id; Type: ACL; Schema: public

GRANT SELECT(id) ON TABLE public.contact_imports TO authenticated;

-- Name: COLUMN contact_imports.organization_id; Type: ACL; Schema: public

GRANT SELECT(organization_id) ON TABLE public.contact_imports TO authenticated;

-- Name: COLUMN contact_imports.created_by; Type: ACL; Schema: public

GRANT SELECT(created_by) ON TABLE public.contact_imports TO authenticated;

-- Name: COLUMN contact_imports.file_name; Type: ACL; Schema: public

GRANT SELECT(file_name) ON TABLE public.contact_imports TO authenticated;

-- Name: COLUMN contact_imports.status; Type: ACL; Schema: public

GRANT SELECT(status) ON TABLE public.contact_imports TO authenticated;

-- Name: COLUMN contact_imports.total_rows; Type: ACL; Schema: public

GRANT SELECT(total_rows) ON TABLE public.contact_imports TO authenticated;

-- Name: COLUMN contact_imports.checked_rows; Type: ACL; Schema: public

GRANT SELECT(checked_rows) ON TABLE public.contact_imports TO authenticated;

-- Name: COLUMN contact_imports.written_rows; Type: ACL; Schema: public

GRANT SELECT(written_rows) ON TABLE public.contact_imports TO authenticated;

-- Name: COLUMN contact_imports.created_count; Type: ACL; Schema: public

GRANT SELECT(created_count) ON TABLE public.contact_imports TO authenticated;

-- Name: COLUMN contact_imports.updated_count; Type: ACL; Schema: public

GRANT SELECT(updated_count) ON TABLE public.contact_imports TO authenticated;

-- Name: COLUMN contact_imports.refused_count; Type: ACL; Schema: public

GRANT SELECT(refused_count) ON TABLE public.contact_imports TO authenticated;

-- Name: COLUMN contact_imports.refusals; Type: ACL; Schema: public

GRANT SELECT(refusals) ON TABLE public.contact_imports TO authenticated;

-- Name: COLUMN contact_imports.error; Type: ACL; Schema: public

GRANT SELECT(error) ON TABLE public.contact_imports TO authenticated;

-- Name: COLUMN contact_imports.created_at; Type: ACL; Schema: public

GRANT SELECT(created_at) ON TABLE public.contact_imports TO authenticated;

-- Name: COLUMN contact_imports.updated_at; Type: ACL; Schema: public

GRANT SELECT(updated_at) ON TABLE public.contact_imports TO authenticated;

-- Name: COLUMN contact_imports.finished_at; Type: ACL; Schema: public

GRANT SELECT(finished_at) ON TABLE public.contact_imports TO authenticated;

-- Name: TABLE conversation_reads; Type: ACL; Schema: public

GRANT ALL ON TABLE public.conversation_reads TO service_role;
GRANT SELECT ON TABLE public.conversation_reads TO authenticated;

-- Name: COLUMN conversation_reads.conversation_id; Type: ACL; Schema: public

GRANT INSERT(conversation_id) ON TABLE public.conversation_reads TO authenticated;

-- Name: COLUMN conversation_reads.user_id; Type: ACL; Schema: public

GRANT INSERT(user_id) ON TABLE public.conversation_reads TO authenticated;

-- Name: COLUMN conversation_reads.last_read_at; Type: ACL; Schema: public

GRANT INSERT(last_read_at),UPDATE(last_read_at) ON TABLE public.conversation_reads TO authenticated;

-- Name: TABLE knowledge_documents; Type: ACL; Schema: public

GRANT ALL ON TABLE public.knowledge_documents TO service_role;
GRANT SELECT ON TABLE public.knowledge_documents TO authenticated;

-- Name: TABLE knowledge_passages; Type: ACL; Schema: public

GRANT ALL ON TABLE public.knowledge_passages TO service_role;
GRANT SELECT ON TABLE public.knowledge_passages TO authenticated;

-- Name: TABLE profiles; Type: ACL; Schema: public

GRANT ALL ON TABLE public.profiles TO service_role;
GRANT SELECT ON TABLE public.profiles TO authenticated;

-- Name: COLUMN profiles.full_name; Type: ACL; Schema: public

GRANT UPDATE(full_name) ON TABLE public.profiles TO authenticated;

-- Name: TABLE scheduled_messages; Type: ACL; Schema: public

GRANT SELECT ON TABLE public.scheduled_messages TO authenticated;
GRANT SELECT ON TABLE public.scheduled_messages TO service_role;

-- Name: TABLE usage_counters; Type: ACL; Schema: public

GRANT ALL ON TABLE public.usage_counters TO service_role;
GRANT SELECT ON TABLE public.usage_counters TO authenticated;

-- Name: SEQUENCE usage_counters_id_seq; Type: ACL; Schema: public

GRANT ALL ON SEQUENCE public.usage_counters_id_seq TO service_role;

-- Name: TABLE webhook_deliveries; Type: ACL; Schema: public

GRANT SELECT ON TABLE public.webhook_deliveries TO authenticated;
GRANT SELECT,INSERT,UPDATE ON TABLE public.webhook_deliveries TO service_role;

-- Name: TABLE webhook_delivery_attempts; Type: ACL; Schema: public

GRANT SELECT ON TABLE public.webhook_delivery_attempts TO authenticated;
GRANT SELECT,INSERT,DELETE ON TABLE public.webhook_delivery_attempts TO service_role;

-- Name: SEQUENCE webhook_delivery_attempts_id_seq; Type: ACL; Schema: public

GRANT ALL ON SEQUENCE public.webhook_delivery_attempts_id_seq TO service_role;

-- Name: TABLE webhook_endpoints; Type: ACL; Schema: public

GRANT DELETE ON TABLE public.webhook_endpoints TO authenticated;
GRANT SELECT,UPDATE ON TABLE public.webhook_endpoints TO service_role;

-- Name: COLUMN webhook_endpoints.id; Type: ACL; Schema: public

GRANT SELECT(id) ON TABLE public.webhook_endpoints TO authenticated;

-- Name: COLUMN webhook_endpoints.organization_id; Type: ACL; Schema: public

GRANT SELECT(organization_id),INSERT(organization_id) ON TABLE public.webhook_endpoints TO authenticated;

-- Name: COLUMN webhook_endpoints.url; Type: ACL; Schema: public

GRANT SELECT(url),INSERT(url),UPDATE(url) ON TABLE public.webhook_endpoints TO authenticated;

-- Name: COLUMN webhook_endpoints.events; Type: ACL; Schema: public

GRANT SELECT(events),INSERT(events),UPDATE(events) ON TABLE public.webhook_endpoints TO authenticated;

-- Name: COLUMN webhook_endpoints.enabled; Type: ACL; Schema: public

GRANT SELECT(enabled),UPDATE(enabled) ON TABLE public.webhook_endpoints TO authenticated;

-- Name: COLUMN webhook_endpoints.secret_ciphertext; Type: ACL; Schema: public

GRANT INSERT(secret_ciphertext) ON TABLE public.webhook_endpoints TO authenticated;

-- Name: COLUMN webhook_endpoints.disabled_reason; Type: ACL; Schema: public

GRANT SELECT(disabled_reason) ON TABLE public.webhook_endpoints TO authenticated;

-- Name: COLUMN webhook_endpoints.failing_since; Type: ACL; Schema: public

GRANT SELECT(failing_since) ON TABLE public.webhook_endpoints TO authenticated;

-- Name: COLUMN webhook_endpoints.created_at; Type: ACL; Schema: public

GRANT SELECT(created_at) ON TABLE public.webhook_endpoints TO authenticated;

-- Name: COLUMN webhook_endpoints.updated_at; Type: ACL; Schema: public

GRANT SELECT(updated_at) ON TABLE public.webhook_endpoints TO authenticated;

-- Name: DEFAULT PRIVILEGES FOR SEQUENCES; Type: DEFAULT ACL; Schema: public

ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON SEQUENCES  TO service_role;

-- Name: DEFAULT PRIVILEGES FOR TABLES; Type: DEFAULT ACL; Schema: public

ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES  TO service_role;
