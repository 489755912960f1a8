-- Conversations: what the reply job and the scheduled upkeep read. They run as the
-- platform (service role); the writes are functions in the private schema
-- (supabase/migrations/20261124040000_ai_replies.sql).

-- name: reply_state
-- A conversation as the reply job needs it: its agent's settings, whether the AI may
-- answer now (blocker: null or why not), whether a customer message waits for an
-- answer, and how many transient model failures in a row it has had.
select c.id,
       c.organization_id,
       a.system_prompt,
       a.model,
       a.temperature::float8 as temperature,
       a.history_messages,
       a.history_tokens,
       private.ai_reply_blocker(c.id) as blocker,
       private.ai_reply_pending(c.id) as pending,
       private.consecutive_ai_retries(c.id) as consecutive_retries,
       (select max(m.created_at) from public.messages as m
        where m.conversation_id = c.id and m.direction = 'inbound') as newest_inbound_at
from public.conversations as c
join public.agents as a on a.organization_id = c.organization_id
where c.id = %(conversation_id)s;

-- name: reply_history
-- The latest messages of a conversation (the agent's history window), oldest first.
select recent.direction::text as direction,
       recent.author::text as author,
       recent.body,
       recent.media,
       recent.status::text as status,
       recent.is_error,
       recent.created_at
from (
    select m.id, m.direction, m.author, m.body, m.media, m.status, m.is_error, m.created_at
    from public.messages as m
    where m.conversation_id = %(conversation_id)s
    order by m.created_at desc, m.id desc
    limit %(limit)s
) as recent
order by recent.created_at, recent.id;

-- name: record_reply
select run_id, outcome, message_id
from private.record_ai_reply_v1(
    conversation_id => %(conversation_id)s,
    body => %(body)s,
    answered_through => %(answered_through)s,
    model => %(model)s,
    prompt_tokens => %(prompt_tokens)s,
    completion_tokens => %(completion_tokens)s,
    latency_ms => %(latency_ms)s
);

-- name: record_handoff
select run_id, outcome, message_id
from private.record_ai_handoff_v1(
    conversation_id => %(conversation_id)s,
    reason => %(reason)s,
    model_text => %(model_text)s,
    answered_through => %(answered_through)s,
    model => %(model)s,
    prompt_tokens => %(prompt_tokens)s,
    completion_tokens => %(completion_tokens)s,
    latency_ms => %(latency_ms)s
);

-- name: record_fallback
select run_id, outcome, message_id
from private.record_ai_fallback_v1(
    conversation_id => %(conversation_id)s,
    error_code => %(error_code)s,
    error_message => %(error_message)s,
    answered_through => %(answered_through)s,
    model => %(model)s,
    prompt_tokens => %(prompt_tokens)s,
    completion_tokens => %(completion_tokens)s,
    latency_ms => %(latency_ms)s
);

-- name: record_retry
select private.record_ai_retry_v1(
    conversation_id => %(conversation_id)s,
    model => %(model)s,
    error => %(error)s,
    retry_in_seconds => %(retry_in_seconds)s,
    latency_ms => %(latency_ms)s
) as run_id;

-- name: record_skip
select private.record_ai_skip_v1(
    conversation_id => %(conversation_id)s,
    model => %(model)s,
    reason => %(reason)s
) as run_id;

-- name: fallback_model
-- The model named in a conversation's run records when the job failed before it knew
-- more: the agent's.
select a.model
from public.conversations as c
join public.agents as a on a.organization_id = c.organization_id
where c.id = %(conversation_id)s;

-- name: close_inactive_conversations
select private.close_inactive_conversations_v1(%(batch_size)s) as closed;

-- name: send_due_follow_ups
select private.send_due_follow_ups_v1(%(batch_size)s) as sent;

-- name: rescue_unanswered_conversations
select private.rescue_unanswered_conversations_v1(
    make_interval(secs => %(grace_seconds)s), %(batch_size)s
) as rescued;
