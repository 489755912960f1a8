-- Outgoing webhooks (issue 20, item 2): a delivery's job names its endpoint too.
--
-- The job checks its process's delivery lane for the endpoint (at most 2 deliveries in
-- flight to one endpoint, webhooks.delivery.WebhookSender) and, when it is full, is put
-- back for later. It used to learn the endpoint by claiming the delivery first: a
-- transaction locking the delivery's row, for every job put back. With a receiver that
-- hangs, every event for it is put back again and again until the lane frees
-- (bench/webhooks), so that transaction was paid many times per event; with the
-- endpoint in the job's arguments the lane is checked before any statement. The claim
-- still reads the endpoint from the delivery (the argument only chooses when to try),
-- and jobs deferred before this migration, without it, claim first as before.
--
-- Both functions as in 20261207001320_outgoing_webhooks.sql, with `endpoint_id` in the
-- job's arguments.

create or replace function private.record_webhook_event(organization_id uuid, event_type text, data jsonb)
    returns integer
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    delivery record;
    recorded integer := 0;
begin
    if not exists (
        select from public.webhook_endpoints as e
        where e.organization_id = record_webhook_event.organization_id and e.enabled
    ) then
        return 0;
    end if;
    for delivery in
        insert into public.webhook_deliveries as d (organization_id, endpoint_id, event_type,
                                                   payload)
        select e.organization_id, e.id, record_webhook_event.event_type,
               jsonb_build_object(
                   'type', record_webhook_event.event_type,
                   'timestamp', to_char(now() at time zone 'UTC',
                                        'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                   'data', record_webhook_event.data
               )
        from public.webhook_endpoints as e
        where e.organization_id = record_webhook_event.organization_id and e.enabled
          and record_webhook_event.event_type = any (e.events)
        returning d.id, d.endpoint_id
    loop
        perform private.defer_job('webhooks:deliver_webhook',
                                  jsonb_build_object('delivery_id', delivery.id,
                                                     'endpoint_id', delivery.endpoint_id),
                                  'webhooks');
        recorded := recorded + 1;
    end loop;
    return recorded;
end;
$$;

create or replace function public.redeliver_webhook_v1(delivery_id uuid)
    returns uuid
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    the_delivery public.webhook_deliveries;
begin
    select * into the_delivery from public.webhook_deliveries as d
    where d.id = redeliver_webhook_v1.delivery_id
      and d.organization_id in (select private.organizations_where_caller_is('{owner,admin}'))
    for update;
    if not found then
        raise sqlstate 'PT404' using message = 'webhook delivery not found';
    end if;
    if not exists (select from public.webhook_endpoints as e
                   where e.id = the_delivery.endpoint_id and e.enabled) then
        raise sqlstate 'PT409' using message = 'the endpoint is disabled';
    end if;
    update public.webhook_deliveries as d
    set status = 'pending', attempts = 0, delivered_at = null, next_attempt_at = now()
    where d.id = the_delivery.id;
    perform private.defer_job('webhooks:deliver_webhook',
                              jsonb_build_object('delivery_id', the_delivery.id,
                                                 'endpoint_id', the_delivery.endpoint_id),
                              'webhooks');
    return the_delivery.id;
end;
$$;
