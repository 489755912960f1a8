-- Broadcasts: one approved template sent to many contacts of a channel, paced at the
-- channel's rate (atende.channels.broadcasts).
--
-- create_broadcast_v1 stores the broadcast and one row per recipient (the opted-out ones
-- already skipped, with the reason) and defers channels:send_broadcast. The job claims
-- recipients in batches with private.claim_broadcast_batch_v1: in ONE transaction a batch
-- of queued recipients is locked (for update skip locked), each gets its message through
-- private.queue_outbound_message (the template send path: opt-out, closed conversation
-- and the send job with its per-conversation lock), and moves queued -> sent. A worker
-- killed mid-batch rolls the whole batch back, so its recipients are claimed again by the
-- next job and nobody is skipped; a batch that committed is never claimed again, and the
-- unique key on the message (messages_broadcast_recipient_key) makes a second message for
-- the same broadcast and contact impossible, so nobody is doubled.

-- The channel's pace -------------------------------------------------------------------------

alter table public.channels add column broadcast_rate_per_second numeric(7, 2);

-- Twilio's default throughput: about 80 messages a second per WhatsApp sender, 1 a second
-- for an SMS long code. Above 400/s no sender of ours is provisioned (Twilio raises a
-- WhatsApp sender to 400 MPS on request), so a larger figure is a typo.
alter table public.channels add constraint channels_broadcast_rate_range
    check (broadcast_rate_per_second is null
           or broadcast_rate_per_second between 0.1 and 400);

comment on column public.channels.broadcast_rate_per_second is
    'Messages a second a broadcast sends through this channel; null: Twilio''s default for its kind (private.broadcast_rate).';

-- Of the two columns, not the row: a client may not read a channel's every column.
create function private.broadcast_rate(kind public.channel_kind, setting numeric)
    returns numeric
    language sql immutable parallel safe
    set search_path = pg_catalog
as $$
    select coalesce(setting, case kind when 'whatsapp' then 80 else 1 end)
$$;

comment on function private.broadcast_rate(public.channel_kind, numeric) is
    'A channel''s broadcast pace in messages a second: its setting, else 80 (WhatsApp) or 1 (SMS).';

grant select (broadcast_rate_per_second), update (broadcast_rate_per_second)
    on table public.channels to authenticated;

-- Broadcasts -----------------------------------------------------------------------------------

create type public.broadcast_status as enum ('sending', 'completed', 'cancelled');

create type public.broadcast_recipient_status as enum (
    'queued',     -- not handed to the send path yet
    'sent',       -- its message is queued with its send job (the message's status follows)
    'skipped',    -- not sent, on purpose (reason: opted_out)
    'failed',     -- could not be queued (reason: channel_disabled, conversation_closed...)
    'cancelled'   -- the broadcast was cancelled before its turn
);

create table public.broadcasts (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    channel_id uuid not null references public.channels (id) on delete cascade,
    template_id uuid references public.channel_templates (id) on delete set null,
    -- What is sent, fixed when the broadcast is made: a template changed or removed
    -- meanwhile does not change a broadcast under way.
    content_sid text not null,
    template_name text not null,
    variables jsonb not null default '{}',
    body text not null default '',
    rate_per_second numeric(7, 2) not null,
    status public.broadcast_status not null default 'sending',
    total integer not null,
    created_by uuid references auth.users (id) on delete set null,
    api_key_id uuid references public.api_keys (id) on delete set null,
    -- The pacing clock: when the next batch may go (claim_broadcast_batch_v1).
    next_batch_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    finished_at timestamptz,
    constraint broadcasts_rate_range check (rate_per_second between 0.1 and 400),
    constraint broadcasts_total_positive check (total > 0),
    constraint broadcasts_variables_is_object check (jsonb_typeof(variables) = 'object')
);

comment on table public.broadcasts is
    'One approved template sent to many contacts of a channel, paced at the channel''s rate.';

create index broadcasts_organization_idx
    on public.broadcasts (organization_id, created_at desc, id desc);
create index broadcasts_channel_id_idx on public.broadcasts (channel_id);
create index broadcasts_template_id_idx on public.broadcasts (template_id);

create trigger tg_broadcasts__set_updated_at
    before update on public.broadcasts
    for each row execute function private.tg__set_updated_at();

create table public.broadcast_recipients (
    broadcast_id uuid not null references public.broadcasts (id) on delete cascade,
    contact_id uuid not null references public.contacts (id) on delete cascade,
    organization_id uuid not null references public.organizations (id) on delete cascade,
    -- The order they are sent in: the order given.
    position integer not null,
    status public.broadcast_recipient_status not null default 'queued',
    reason text,
    conversation_id uuid references public.conversations (id) on delete set null,
    message_id uuid references public.messages (id) on delete set null,
    handled_at timestamptz,
    primary key (broadcast_id, contact_id),
    constraint broadcast_recipients_position_key unique (broadcast_id, position),
    constraint broadcast_recipients_message_key unique (message_id),
    constraint broadcast_recipients_reason_length check (char_length(reason) <= 200)
);

comment on table public.broadcast_recipients is
    'Each contact of a broadcast: queued, sent (its message), skipped, failed or cancelled, with the reason.';

-- The job's next batch: the queued ones, in order.
create index broadcast_recipients_queued_idx
    on public.broadcast_recipients (broadcast_id, position) where status = 'queued';
create index broadcast_recipients_contact_id_idx on public.broadcast_recipients (contact_id);

-- At most one message per broadcast and contact, whatever happens to the job.
create unique index messages_broadcast_recipient_key
    on public.messages ((metadata ->> 'broadcast_recipient'))
    where metadata ? 'broadcast_recipient';

alter table public.broadcasts enable row level security;
alter table public.broadcast_recipients enable row level security;

-- Members read them (agents see what went out to their customers); only owners and admins
-- make or cancel one, through the functions below.
create policy "Members can read their organizations' broadcasts"
    on public.broadcasts for select to authenticated
    using (organization_id in (select private.organizations_of_caller()));

create policy "Members can read their organizations' broadcast recipients"
    on public.broadcast_recipients for select to authenticated
    using (organization_id in (select private.organizations_of_caller()));

revoke all on table public.broadcasts, public.broadcast_recipients
    from public, anon, authenticated, service_role;
grant select on table public.broadcasts, public.broadcast_recipients to authenticated;
grant select, insert, update, delete on table public.broadcasts, public.broadcast_recipients
    to service_role;

-- Making one ---------------------------------------------------------------------------------

create function public.create_broadcast_v1(
    channel_id uuid,
    template_id uuid,
    variables jsonb default '{}',
    contact_ids uuid[] default null,
    tag text default null
)
    returns uuid
    language plpgsql security definer
    set search_path = pg_catalog
as $$
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

comment on function public.create_broadcast_v1(uuid, uuid, jsonb, uuid[], text) is
    'An owner or admin (or API key) sends an approved template to many contacts of a channel (a list, or those with a tag): stored with its recipients (opted-out ones skipped) and its job deferred.';

-- Cancelling one --------------------------------------------------------------------------------

create function public.cancel_broadcast_v1(broadcast_id uuid)
    returns uuid
    language plpgsql security definer
    set search_path = pg_catalog
as $$
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

comment on function public.cancel_broadcast_v1(uuid) is
    'An owner or admin (or API key) stops a broadcast: what was sent stays sent, the recipients still queued are cancelled.';

-- The job's batch ---------------------------------------------------------------------------------

create function private.claim_broadcast_batch_v1(broadcast_id uuid, batch_size integer)
    returns table (status public.broadcast_status, handled integer, remaining integer,
                   wait_seconds double precision)
    language plpgsql security definer
    set search_path = pg_catalog
as $$
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
        on conflict (channel_id, contact_id) where status <> 'closed' do update
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

    -- The pace: each batch of n earns n / rate seconds. A broadcast that fell behind (a
    -- worker died, the queue was busy) starts again from now rather than catching up in
    -- a burst above the channel's rate.
    interval_seconds := done / the_broadcast.rate_per_second;
    next_at := coalesce(the_broadcast.next_batch_at, started);
    if next_at < started - make_interval(secs => interval_seconds) then
        next_at := started;
    end if;
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

comment on function private.claim_broadcast_batch_v1(uuid, integer) is
    'The broadcast job''s step: up to batch_size queued recipients get their template message (or are skipped or failed, with the reason) in one transaction; the broadcast''s state, what is left, and how long to wait to keep the channel''s pace.';

create function private.continue_broadcast_v1(broadcast_id uuid)
    returns bigint
    language sql security definer
    set search_path = pg_catalog
as $$
    select private.defer_job(
        task_name => 'channels:send_broadcast',
        args => jsonb_build_object('broadcast_id', continue_broadcast_v1.broadcast_id),
        queue_name => 'broadcasts',
        lock => 'broadcast:' || continue_broadcast_v1.broadcast_id
    )
    from public.broadcasts as b
    where b.id = continue_broadcast_v1.broadcast_id and b.status = 'sending'
$$;

comment on function private.continue_broadcast_v1(uuid) is
    'Defers the next link of a broadcast''s job chain (a job runs for a bounded time, so a worker stopping never waits on a long broadcast).';

-- What a recipient's status is now: a sent one follows its message.
create function private.broadcast_recipient_state(
    recipient_status public.broadcast_recipient_status, message_status public.message_status
)
    returns text
    language sql immutable parallel safe
    set search_path = pg_catalog
as $$
    select case
        when recipient_status <> 'sent' then recipient_status::text
        when message_status in ('delivered', 'read') then 'delivered'
        when message_status in ('failed', 'undelivered') then 'failed'
        when message_status = 'sent' then 'sent'
        when message_status is null then 'sent'
        else 'sending'
    end
$$;

comment on function private.broadcast_recipient_state(public.broadcast_recipient_status, public.message_status) is
    'A recipient as the API shows it: queued, sending, sent, delivered, failed, skipped or cancelled.';

revoke all on function private.broadcast_rate(public.channel_kind, numeric),
    public.create_broadcast_v1(uuid, uuid, jsonb, uuid[], text),
    public.cancel_broadcast_v1(uuid),
    private.claim_broadcast_batch_v1(uuid, integer),
    private.continue_broadcast_v1(uuid),
    private.broadcast_recipient_state(public.broadcast_recipient_status, public.message_status)
    from public, anon, authenticated;
grant execute on function private.broadcast_rate(public.channel_kind, numeric),
    public.create_broadcast_v1(uuid, uuid, jsonb, uuid[], text),
    public.cancel_broadcast_v1(uuid),
    private.claim_broadcast_batch_v1(uuid, integer),
    private.continue_broadcast_v1(uuid),
    private.broadcast_recipient_state(public.broadcast_recipient_status, public.message_status)
    to service_role;
-- The API's calls, as the caller (each checks membership and role itself); the rate and
-- the state are read in the API's queries.
grant execute on function public.create_broadcast_v1(uuid, uuid, jsonb, uuid[], text),
    public.cancel_broadcast_v1(uuid),
    private.broadcast_rate(public.channel_kind, numeric),
    private.broadcast_recipient_state(public.broadcast_recipient_status, public.message_status)
    to authenticated;
