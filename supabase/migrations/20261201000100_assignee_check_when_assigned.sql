-- The assignee rule (an assignee must be a member of the conversation's organization,
-- 20261124020100_message_flow.sql) is only asked when there is an assignee.
--
-- The trigger fired before every insert, and ingest's `insert ... on conflict do
-- update` of the conversation is an insert attempt on every inbound message: a plpgsql
-- call that found assignee_id null and returned (~13 µs a message in bench/ingest,
-- pg_stat_user_functions). With the condition on the trigger, Postgres does not call
-- the function at all for an unassigned conversation.

drop trigger tg_conversations__assignee_is_member on public.conversations;

create trigger tg_conversations__assignee_is_member
    before insert or update of assignee_id on public.conversations
    for each row
    when (new.assignee_id is not null)
    execute function private.tg_conversations__assignee_is_member();
