-- Outgoing webhooks: a message's event payload is built only for an organization that has
-- an enabled endpoint.
--
-- private.record_webhook_event returns at once when the organization has no enabled
-- endpoint, but its `data` argument (private.webhook_message_data: the message and, by a
-- join, its contact) was computed before the call, for every message inserted or
-- updated. Most organizations have no endpoint, and this trigger runs on ingest's and the
-- send path's hottest writes, so the check comes first. The same function as in
-- 20261207001320_outgoing_webhooks.sql otherwise.

create or replace function private.tg_messages__webhook_events() returns trigger
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
begin
    if not exists (
        select from public.webhook_endpoints as e
        where e.organization_id = new.organization_id and e.enabled
    ) then
        return null;
    end if;
    if tg_op = 'INSERT' then
        if new.direction = 'inbound' then
            perform private.record_webhook_event(new.organization_id, 'message.received',
                                                 private.webhook_message_data(new));
        end if;
    else
        -- Sent: Twilio took it (or already reports it delivered or read).
        if old.status in ('queued', 'sending') and new.status in ('sent', 'delivered', 'read') then
            perform private.record_webhook_event(new.organization_id, 'message.sent',
                                                 private.webhook_message_data(new));
        end if;
        -- The statuses Twilio reports; 'sending' is Atende's own step.
        if new.status in ('sent', 'delivered', 'read', 'failed', 'undelivered') then
            perform private.record_webhook_event(new.organization_id, 'message.status_changed',
                                                 private.webhook_message_data(new));
        end if;
    end if;
    return null;
end;
$$;
