-- Media: the files of messages (atende.media, atende.channels.media). Every query here
-- runs as the service role: the signed link (or the job) already says which file. A
-- message is found by id with its created_at (private.message_created_at, the recent
-- months first), so the lookup reaches one partition of messages.

-- name: media_item
-- One item of a message's media, for its signed link: the organization in the link must
-- be the message's.
select m.media -> %(position)s::integer as item
from public.messages as m
where m.id = %(message_id)s and m.organization_id = %(organization_id)s
  and m.created_at = private.message_created_at(%(message_id)s);

-- name: message_for_media
-- A message whose media the job fetches, with the channel's Twilio account (its token
-- still encrypted).
select m.id, m.organization_id, m.direction::text, m.media, ch.kind::text as channel_kind,
       ch.phone_number as channel_phone_number, ch.twilio_account_sid,
       ch.twilio_auth_token_ciphertext
from public.messages as m
join public.conversations as c on c.id = m.conversation_id
join public.channels as ch on ch.id = c.channel_id
where m.id = %(message_id)s and m.created_at = private.message_created_at(%(message_id)s);

-- name: record_message_media
select private.record_message_media_v1(
    %(message_id)s, %(position)s, %(outcome)s::jsonb
) as recorded;
