-- Conversations' scheduled upkeep (atende.conversations.tasks): closing inactive
-- conversations, follow-ups, and rescuing unanswered ones. It runs as the platform
-- (service role); the work is done by functions in the private schema
-- (supabase/migrations/20261207000400_ai.sql).

-- name: close_inactive_conversations
select private.close_inactive_conversations_v1(%(batch_size)s) as closed;

-- name: send_due_follow_ups
select private.send_due_follow_ups_v1(%(batch_size)s) as sent;

-- name: rescue_unanswered_conversations
select private.rescue_unanswered_conversations_v1(
    make_interval(secs => %(grace_seconds)s), %(batch_size)s
) as rescued;
