-- One realtime event per change of a message, not two.
--
-- A change of an outbound message's delivery state was announced twice on
-- atende_events: by private.announce_message_change, which the send pipeline's functions
-- call after each change (20261124030200_outbound_delivery.sql), and by the trigger
-- tg_messages__publish_changes added later for every writer
-- (20261124050000_team_inbox.sql). Subscribers got each MESSAGE_UPDATED twice, and every
-- claim and delivery callback paid two NOTIFYs (NOTIFY also serialises commits).
--
-- The trigger is the one place left: it now also fires when only the error changes
-- (a send flagged "delivery unknown" without a change of status), which the function
-- covered, and private.announce_message_change no longer publishes. It stays, doing
-- nothing, for the landed functions that call it.

create or replace function private.tg_messages__publish_changes() returns trigger
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
begin
    if new.status is distinct from old.status
        or new.is_error is distinct from old.is_error
        or new.error_code is distinct from old.error_code then
        perform private.publish_event(
            new.organization_id,
            'message.updated',
            jsonb_build_object('conversation_id', new.conversation_id, 'message_id', new.id)
        );
    end if;
    return null;
end;
$$;

drop trigger tg_messages__publish_changes on public.messages;

create trigger tg_messages__publish_changes
    after update of status, is_error, error_code on public.messages
    for each row execute function private.tg_messages__publish_changes();

create or replace function private.announce_message_change(the_message public.messages)
    returns void
    language plpgsql
    immutable
as $$
begin
    -- The trigger tg_messages__publish_changes announces the change.
    null;
end;
$$;

comment on function private.announce_message_change is
    'Does nothing: the trigger tg_messages__publish_changes announces every change of a message (kept for its callers).';
