-- Scheduled sends (atende.conversations.scheduling). The team's statements run as the
-- caller (row-level security and the functions' own checks decide); the job's runs as the
-- platform. The rules live in supabase/migrations/20261207001540_scheduled_messages.sql.

-- name: schedule_message
select public.schedule_message_v1(
    %(conversation_id)s, %(send_at)s, %(body)s, %(template_id)s, %(variables)s::jsonb
) as id;

-- name: cancel_scheduled_message
select public.cancel_scheduled_message_v1(%(scheduled_message_id)s)::text as status;

-- name: scheduled_messages_by_id
select s.id, s.organization_id, s.conversation_id, s.body, s.template_id, s.template_name,
       s.variables, s.send_at, s.status::text as status, s.reason, s.created_by,
       s.created_by_api_key, s.message_id, s.created_at, s.processed_at
from public.scheduled_messages as s
where s.id = any (%(ids)s);

-- name: scheduled_messages_of_conversations
-- Each conversation's scheduled messages, soonest first (the newest 100 by send time).
select s.id, s.organization_id, s.conversation_id, s.body, s.template_id, s.template_name,
       s.variables, s.send_at, s.status::text as status, s.reason, s.created_by,
       s.created_by_api_key, s.message_id, s.created_at, s.processed_at
from unnest(%(conversation_ids)s::uuid[]) as c (id)
cross join lateral (
    select * from public.scheduled_messages as s
    where s.conversation_id = c.id
    order by s.send_at desc, s.id desc
    limit 100
) as s
order by s.conversation_id, s.send_at, s.id;

-- name: send_scheduled_message
select status::text as status, reason, message_id
from private.send_scheduled_message_v1(%(scheduled_message_id)s);

-- name: give_up_scheduled_message
select private.give_up_scheduled_message_v1(%(scheduled_message_id)s, %(reason)s)::text
    as status;
