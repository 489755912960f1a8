-- The reply pipeline (atende.ai.replies): what the reply job reads and records. It runs
-- as the platform (service role); the writes are functions in the private schema
-- (supabase/migrations/20261207000400_ai.sql).

-- name: start_reply
-- The reply job's first step (private.start_ai_reply_v3): 'nothing' to answer,
-- 'debounced', 'skipped' (recorded), 'waiting' for a voice note's transcript (or an image,
-- for an agent that sees them; bounded by media_wait_seconds), or 'ready' with the agent's
-- prompt settings, the history window as JSON (oldest first, with locations and which
-- messages wait for an answer), the organization and the agent's knowledge and vision
-- settings.
select outcome, run_id, model, system_prompt, temperature, history_messages, history_tokens,
       consecutive_retries, answered_through, history, organization_id, knowledge_enabled,
       knowledge_passages, answer_only_from_knowledge, vision_enabled
from private.start_ai_reply_v3(%(conversation_id)s, %(media_wait_seconds)s);

-- name: record_reply
-- knowledge_sources: the passages the model request carried (JSON), or null.
select run_id, outcome, message_id
from private.record_ai_reply_v2(
    conversation_id => %(conversation_id)s,
    body => %(body)s,
    answered_through => %(answered_through)s,
    model => %(model)s,
    prompt_tokens => %(prompt_tokens)s,
    completion_tokens => %(completion_tokens)s,
    latency_ms => %(latency_ms)s,
    knowledge_sources => %(knowledge_sources)s::jsonb
);

-- name: record_handoff
select run_id, outcome, message_id
from private.record_ai_handoff_v2(
    conversation_id => %(conversation_id)s,
    reason => %(reason)s,
    model_text => %(model_text)s,
    answered_through => %(answered_through)s,
    model => %(model)s,
    prompt_tokens => %(prompt_tokens)s,
    completion_tokens => %(completion_tokens)s,
    latency_ms => %(latency_ms)s,
    knowledge_sources => %(knowledge_sources)s::jsonb
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
