-- Starting a conversation (issue 20, item 4).
--
-- A business reaches a customer first (an appointment reminder, an order update): a
-- customer who never wrote, or whose 24-hour window closed. WhatsApp then accepts only an
-- approved template, so starting a conversation is sending one of the channel's templates
-- (ContentSid) to a phone number, with the contact and the conversation made when they do
-- not exist yet. Free text outside the window stays refused by
-- private.queue_outbound_message, before any send job exists.
--
-- The rules, in the order a caller meets them:
--   * the channel is one of the caller's organizations' (a member of any role, or an API
--     key of it: agents work conversations, so they may start one); else channel_not_found;
--   * the channel is enabled (channel_disabled);
--   * the number is E.164 (the API normalises what people type first) and not the
--     channel's own (phone_number_invalid);
--   * the template is one of that channel's approved templates (template_not_found);
--   * the contact has not opted out (contact_opted_out), checked before anything is made;
--   * the variables fit the template (template_variables_invalid), the send itself:
--     public.send_template_message_v1, so a template starting a conversation is queued,
--     recorded and sent exactly as one sent in it.
-- A refusal raises, so the caller's savepoint drops the contact and conversation made
-- on the way: nothing is left behind by a refused start.
--
-- An open (or handed-off) conversation with the contact on the channel is reused; a
-- closed one is not reopened (its history stays closed), a new one starts.

create function public.start_conversation_v1(
    channel_id uuid,
    phone_number text,
    template_id uuid,
    variables jsonb default '{}'
)
    returns table (conversation_id uuid, message_id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
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
    on conflict (channel_id, contact_id) where status <> 'closed' do nothing
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
$$;

comment on function public.start_conversation_v1(uuid, text, uuid, jsonb) is
    'A member (or API key) sends an approved template to a phone number on one of its '
    'channels, making the contact and the conversation when missing; refuses opted-out '
    'contacts before making anything.';

revoke all on function public.start_conversation_v1(uuid, text, uuid, jsonb)
    from public, anon, authenticated, service_role;
grant execute on function public.start_conversation_v1(uuid, text, uuid, jsonb)
    to authenticated, service_role;
