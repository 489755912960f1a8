-- The two SQL helpers the message pipeline calls most, as plpgsql (bench/e2e, issue 5).
-- Same signatures, same results, same grants.
--
-- Both are `language sql` with a `set search_path` clause, so Postgres never inlines
-- them, and a SQL function that is not inlined is parsed, analysed and planned again at
-- every call (its plan lives only as long as the calling expression). A plpgsql function
-- keeps its plans for the session. Per conversation in bench/e2e (one inbound message,
-- one AI reply sent and its two status callbacks):
--
--   private.publish_event        5 calls (2 message.created, 3 message.updated)
--   public.window_expires_at     4 calls (ingest, the reply, the send's claim)
--
-- Measured per call from a plpgsql loop on PG 15 (old body vs this one):
-- private.publish_event 20 -> 8.5 µs, public.window_expires_at 66 -> 8.5 µs; about
-- 0.3 ms of Postgres CPU a conversation, ~2 % of it.

create or replace function private.publish_event(
    organization_id uuid,
    kind text,
    payload jsonb default '{}'
)
    returns void
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
begin
    perform pg_notify(
        'atende_events',
        (jsonb_build_object('organization_id', publish_event.organization_id,
                            'kind', publish_event.kind)
            || coalesce(publish_event.payload, '{}'))::text
    );
end;
$$;

create or replace function public.window_expires_at(conversation public.conversations)
    returns timestamptz
    language plpgsql
    stable
    set search_path = pg_catalog
as $$
begin
    -- The rule itself is private.window_end (20261124050000_team_inbox.sql).
    return private.window_end(
        (select ch.kind from public.channels as ch where ch.id = conversation.channel_id),
        conversation.last_inbound_at
    );
end;
$$;
