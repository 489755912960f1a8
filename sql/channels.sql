-- Channels: the queries the Python layer runs about Twilio numbers, their templates,
-- webhooks and the send pipeline. Webhooks and jobs run as the service role; the
-- GraphQL API runs as the caller, so RLS decides what it sees and may change.

-- Webhooks (service role) ------------------------------------------------------------

-- name: channel_for_webhook
-- The channel a webhook is addressed to: Twilio's account and the number it was sent to
-- (unique: channels_twilio_account_sid_kind_phone_number_key; accounts share the Sandbox).
select id, organization_id, enabled, twilio_account_sid, twilio_auth_token_ciphertext
from public.channels
where kind = %(kind)s and phone_number = %(phone_number)s
  and twilio_account_sid = %(account_sid)s;

-- name: ingest_inbound_messages
-- Several deliveries in one transaction (atende.channels.ingest), given as one JSON
-- array: one call of ingest_inbound_message_v1 each, in order, a row each in that order.
select r.message_id, r.conversation_id, r.contact_id, r.duplicate, r.reply_job_id
from rows from (
    jsonb_to_recordset(%(items)s::jsonb) as (
        channel_id uuid, message_sid text, from_number text, body text, media jsonb,
        profile_name text, opt_out_type text, metadata jsonb
    )
) with ordinality as m (channel_id, message_sid, from_number, body, media, profile_name,
                        opt_out_type, metadata, position)
cross join lateral private.ingest_inbound_message_v1(
    channel_id => m.channel_id,
    message_sid => m.message_sid,
    from_number => m.from_number,
    body => m.body,
    media => m.media,
    profile_name => m.profile_name,
    opt_out_type => m.opt_out_type,
    metadata => m.metadata
) as r
order by m.position;

-- name: status_target_by_message_id
-- The message a status callback names (its URL carries the id) and its channel; its
-- created_at (private.message_created_at, recent partitions first) takes the lookup to
-- one partition of messages.
select m.id as message_id, ch.id as channel_id, ch.twilio_account_sid,
       ch.twilio_auth_token_ciphertext
from public.messages as m
join public.conversations as cv on cv.id = m.conversation_id
join public.channels as ch on ch.id = cv.channel_id
where m.id = %(message_id)s
  and m.created_at = private.message_created_at(%(message_id)s)
  and m.direction = 'outbound';

-- name: status_target_by_sid
-- The message whose first part has this sid, and its channel: through the sid's row in
-- private.message_sids, whose created_at takes the lookup to one partition of messages.
select m.id as message_id, ch.id as channel_id, ch.twilio_account_sid,
       ch.twilio_auth_token_ciphertext
from private.message_sids as s
join public.messages as m on m.id = s.message_id and m.created_at = s.message_created_at
join public.conversations as cv on cv.id = m.conversation_id
join public.channels as ch on ch.id = cv.channel_id
where s.message_sid = %(message_sid)s and m.direction = 'outbound';

-- name: record_message_statuses
-- Several status callbacks in one transaction (atende.channels.ingest), in order.
select r.outcome, r.target_message_id, r.message_status::text
from rows from (
    jsonb_to_recordset(%(items)s::jsonb) as (
        message_id uuid, message_sid text, status text, part_index integer,
        part_count integer, error_code text, error_message text
    )
) with ordinality as m (message_id, message_sid, status, part_index, part_count, error_code,
                        error_message, position)
cross join lateral private.record_message_status_v1(
    message_id => m.message_id,
    message_sid => m.message_sid,
    twilio_status => m.status,
    part_index => m.part_index,
    part_count => m.part_count,
    error_code => m.error_code,
    error_message => m.error_message
) as r
order by m.position;

-- name: record_message_status
select outcome, target_message_id, message_status::text
from private.record_message_status_v1(
    message_id => %(message_id)s,
    message_sid => %(message_sid)s,
    twilio_status => %(status)s,
    part_index => %(part_index)s,
    part_count => %(part_count)s,
    error_code => %(error_code)s,
    error_message => %(error_message)s
);

-- The send pipeline (service role) -----------------------------------------------------

-- name: claim_outbound_message
select outcome, organization_id, conversation_id, body, media, metadata, attempts,
       channel_kind::text, channel_phone_number, twilio_account_sid,
       twilio_auth_token_ciphertext, contact_phone_number
from private.claim_outbound_message_v1(%(message_id)s);

-- name: requeue_outbound_message
select private.requeue_outbound_message_v1(%(message_id)s, %(error_code)s, %(error_message)s)
    as requeued;

-- name: fail_outbound_message
select private.fail_outbound_message_v1(%(message_id)s, %(error_code)s, %(error_message)s)
    as failed;

-- name: mark_delivery_unknown
select private.mark_delivery_unknown_v1(%(message_id)s, %(error_message)s) as marked;

-- The channel API (as the caller) -----------------------------------------------------

-- name: caller_role_in_organization
-- The caller's role in an organization (a member's, or an API key's); no row when neither.
select role
from (select private.caller_role_in(%(organization_id)s)::text as role) as caller
where role is not null;

-- name: create_channel
insert into public.channels (organization_id, kind, phone_number, display_name,
                             twilio_account_sid, twilio_auth_token_ciphertext)
values (%(organization_id)s, %(kind)s, %(phone_number)s, %(display_name)s,
        %(twilio_account_sid)s, %(twilio_auth_token_ciphertext)s)
returning id, organization_id, kind::text, phone_number, display_name, twilio_account_sid,
          enabled, created_at, updated_at;

-- name: channel_by_id
-- A channel the caller can see (RLS), with the caller's role in its organization.
select ch.id, ch.organization_id, ch.kind::text, ch.phone_number, ch.display_name,
       ch.twilio_account_sid, ch.enabled, ch.created_at, ch.updated_at,
       private.caller_role_in(ch.organization_id)::text as caller_role
from public.channels as ch
where ch.id = %(channel_id)s;

-- name: update_channel
-- Only the fields given (not null) change; RLS lets owners and admins through.
update public.channels
set display_name = case when %(set_display_name)s then %(display_name)s else display_name end,
    twilio_account_sid = coalesce(%(twilio_account_sid)s, twilio_account_sid),
    enabled = coalesce(%(enabled)s, enabled)
where id = %(channel_id)s
returning id, organization_id, kind::text, phone_number, display_name, twilio_account_sid,
          enabled, created_at, updated_at;

-- name: set_channel_token
-- A new auth token (encrypted). A statement of its own: clients may write the column,
-- never read it, and `coalesce(new, old)` would read it.
update public.channels
set twilio_auth_token_ciphertext = %(twilio_auth_token_ciphertext)s
where id = %(channel_id)s
returning id;

-- name: channels_of_organizations
-- The channels of these organizations the caller can see, oldest first.
select id, organization_id, kind::text, phone_number, display_name, twilio_account_sid,
       enabled, created_at, updated_at
from public.channels
where organization_id = any(%(organization_ids)s::uuid[])
order by created_at, id;

-- name: templates_of_channels
select id, organization_id, channel_id, name, content_sid, language, variables, body,
       created_at, updated_at
from public.channel_templates
where channel_id = any(%(channel_ids)s::uuid[])
order by name, language, id;

-- name: create_template
insert into public.channel_templates (organization_id, channel_id, name, content_sid,
                                      language, variables, body)
select ch.organization_id, ch.id, %(name)s, %(content_sid)s, %(language)s,
       %(variables)s::jsonb, %(body)s
from public.channels as ch
where ch.id = %(channel_id)s
returning id, organization_id, channel_id, name, content_sid, language, variables, body,
          created_at, updated_at;

-- name: template_by_id
select t.id, t.organization_id, t.channel_id, t.name, t.content_sid, t.language, t.variables,
       t.body, t.created_at, t.updated_at,
       private.caller_role_in(t.organization_id)::text as caller_role
from public.channel_templates as t
where t.id = %(template_id)s;

-- name: update_template
update public.channel_templates
set name = coalesce(%(name)s, name),
    content_sid = coalesce(%(content_sid)s, content_sid),
    language = coalesce(%(language)s, language),
    variables = coalesce(%(variables)s::jsonb, variables),
    body = case when %(set_body)s then %(body)s else body end
where id = %(template_id)s
returning id, organization_id, channel_id, name, content_sid, language, variables, body,
          created_at, updated_at;

-- name: delete_template
delete from public.channel_templates where id = %(template_id)s returning id;

-- name: send_template
select public.send_template_message_v1(%(conversation_id)s, %(template_id)s,
                                       %(variables)s::jsonb) as message_id;

-- name: start_conversation
-- An approved template to a phone number, the contact and conversation made when missing.
select conversation_id, message_id
from public.start_conversation_v1(%(channel_id)s, %(phone_number)s, %(template_id)s,
                                  %(variables)s::jsonb);

-- name: queued_message
select id, conversation_id, body, status::text, created_at
from public.messages
where id = %(message_id)s;

-- The command line (service role) -------------------------------------------------------

-- name: channel_by_phone_number
-- The channels with this number, for `atende simulate`: one per kind and Twilio account
-- (several accounts may share the Sandbox number), the oldest first.
select id, kind::text, phone_number, enabled, twilio_account_sid,
       twilio_auth_token_ciphertext
from public.channels
where phone_number = %(phone_number)s
order by kind, created_at, id;

-- Key rotation (`atende rotate-secrets`, as the service role) ---------------------------

-- name: channel_secrets_after
-- A batch of channels' stored secrets, in id order after %(after)s (keyset pagination).
select id, twilio_auth_token_ciphertext
from public.channels
where id > %(after)s
order by id
limit %(limit)s;

-- name: channel_secret
select twilio_auth_token_ciphertext
from public.channels
where id = %(channel_id)s;

-- name: replace_channel_secret
-- Compare-and-set: only the ciphertext that was read is replaced, so a token set since
-- (updateChannel) is never overwritten; no row when it changed.
update public.channels
set twilio_auth_token_ciphertext = %(ciphertext)s
where id = %(channel_id)s and twilio_auth_token_ciphertext = %(expected)s
returning id;
