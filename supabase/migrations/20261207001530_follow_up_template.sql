-- Follow-ups past the window (issue 20, item 6).
--
-- The agent's follow-up goes once, after the customer went quiet for
-- follow_up_after_minutes following an answer. It may fall due after WhatsApp's 24-hour
-- window closed (the answer came late, the scan ran late), and then free text would be
-- refused; until now such a follow-up was silently never sent. Now:
--   * inside the window (or on SMS, which has none): the follow-up message, as before;
--   * outside it: the agent's follow-up template (agents.follow_up_template_id), an
--     approved template of the organization without variables (the job has nobody to fill
--     them in). It goes on the conversation's channel: the chosen template itself when it
--     is that channel's, else the channel's template with the same ContentSid and language
--     (the same approved content registered on another number of the organization);
--   * outside it with no template that fits: nothing is sent, and the conversation
--     records why (follow_up_skipped_at, follow_up_skip_reason), once per silence, like
--     follow_up_sent_at: a new message from the customer arms the next one.
-- Opted-out contacts are still never selected, and queue_outbound_message refuses them.

-- Which template: one of the organization's own, by a composite foreign key (a template
-- of another organization cannot be named); deleting it turns the setting off.
alter table public.channel_templates
    add constraint channel_templates_id_organization_key unique (id, organization_id);

alter table public.agents
    add column follow_up_template_id uuid,
    add constraint agents_follow_up_template_fkey
        foreign key (follow_up_template_id, organization_id)
        references public.channel_templates (id, organization_id)
        on delete set null (follow_up_template_id);

comment on column public.agents.follow_up_template_id is
    'The approved template (without variables) sent as the follow-up when it falls due '
    'outside WhatsApp''s 24-hour window; null: such follow-ups are skipped.';

create index agents_follow_up_template_id_idx on public.agents (follow_up_template_id)
    where follow_up_template_id is not null;

grant update (follow_up_template_id) on public.agents to authenticated;

-- A template with variables cannot be a follow-up: refused when chosen (and skipped,
-- with its reason, if variables are added to it later).
create function private.tg_agents__follow_up_template_without_variables() returns trigger
    language plpgsql
    stable
    security definer
    set search_path = pg_catalog
as $$
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

create trigger tg_agents__follow_up_template_without_variables
    before insert or update of follow_up_template_id on public.agents
    for each row when (new.follow_up_template_id is not null)
    execute function private.tg_agents__follow_up_template_without_variables();

revoke all on function private.tg_agents__follow_up_template_without_variables()
    from public, anon, authenticated, service_role;

-- Why a due follow-up was not sent.
alter table public.conversations
    add column follow_up_skipped_at timestamptz,
    add column follow_up_skip_reason text,
    add constraint conversations_follow_up_skip_pair
        check ((follow_up_skipped_at is null) = (follow_up_skip_reason is null)),
    add constraint conversations_follow_up_skip_reason check (
        follow_up_skip_reason in (
            'no_follow_up_template', 'follow_up_template_not_on_channel',
            'follow_up_template_has_variables'
        )
    );

comment on column public.conversations.follow_up_skipped_at is
    'When a follow-up fell due outside the 24-hour window and could not go (see '
    'follow_up_skip_reason); it counts until the customer writes again (last_inbound_at).';
comment on column public.conversations.follow_up_skip_reason is
    'no_follow_up_template: the agent has none; follow_up_template_not_on_channel: no '
    'template with its ContentSid on this conversation''s channel; '
    'follow_up_template_has_variables: the template needs values the job cannot give.';

create or replace function private.send_due_follow_ups_v1(batch_size integer default 500)
    returns integer
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
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

comment on function private.send_due_follow_ups_v1(integer) is
    'Queues the agent''s follow-up, once, to up to batch_size customers who went quiet: '
    'the message inside the window, the agent''s follow-up template outside it, else '
    'records on the conversation why it was skipped.';
