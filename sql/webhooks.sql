-- Outgoing webhooks (atende.webhooks; 20261207001320_outgoing_webhooks.sql).

-- The team's (as the caller; row-level security lets owners and admins through) ------------

-- name: caller_role
select private.caller_role_in(%(organization_id)s)::text as role;

-- name: create_endpoint
insert into public.webhook_endpoints (organization_id, url, events, secret_ciphertext)
values (%(organization_id)s, %(url)s, %(events)s::text[], %(secret_ciphertext)s)
returning id;

-- name: update_endpoint
-- Only the fields given (not null) change.
update public.webhook_endpoints
set url = coalesce(%(url)s, url),
    events = coalesce(%(events)s::text[], events),
    enabled = coalesce(%(enabled)s, enabled)
where id = %(endpoint_id)s
returning id;

-- name: remove_endpoint
delete from public.webhook_endpoints where id = %(endpoint_id)s returning id;

-- name: redeliver
select public.redeliver_webhook_v1(%(delivery_id)s) as delivery_id;

-- name: endpoints_by_id
select id, organization_id, url, events, enabled, disabled_reason, failing_since, created_at,
       updated_at
from public.webhook_endpoints
where id = any(%(ids)s::uuid[]);

-- name: endpoints_of_organizations
select id, organization_id, url, events, enabled, disabled_reason, failing_since, created_at,
       updated_at
from public.webhook_endpoints
where organization_id = any(%(organization_ids)s::uuid[])
order by created_at, id;

-- name: deliveries_of_endpoint
-- A page of an endpoint's deliveries, newest first, after a (created_at, id) keyset
-- (the first page's is pagination.NEWEST); one more row than the page tells if more follow.
select id, endpoint_id, event_type, payload, status, attempts, last_attempt_at,
       last_status_code, last_duration_ms, last_error, next_attempt_at, delivered_at,
       created_at
from public.webhook_deliveries
where endpoint_id = %(endpoint_id)s
  and (created_at, id) < (%(after_time)s::timestamptz, %(after_id)s::uuid)
order by created_at desc, id desc
limit %(limit)s;

-- name: delivery_by_id
select id, endpoint_id, event_type, payload, status, attempts, last_attempt_at,
       last_status_code, last_duration_ms, last_error, next_attempt_at, delivered_at,
       created_at
from public.webhook_deliveries
where id = %(delivery_id)s;

-- name: attempts_of_deliveries
-- Every attempt kept of these deliveries, oldest first (RLS: owners and admins).
select delivery_id, attempt, status_code, duration_ms, error, attempted_at
from public.webhook_delivery_attempts
where delivery_id = any(%(delivery_ids)s::uuid[])
order by delivery_id, attempted_at, id;

-- The platform's (the delivery job) ---------------------------------------------------------

-- name: claim_delivery
select endpoint_id, url, secret_ciphertext, payload, attempts
from private.claim_webhook_delivery_v1(%(delivery_id)s);

-- name: record_attempt
select private.record_webhook_attempt_v1(%(delivery_id)s, %(status_code)s, %(duration_ms)s,
                                         %(error)s, %(retry_at)s) as status;

-- name: purge_attempts
select private.purge_webhook_attempts_v1(%(keep)s, %(batch)s) as purged;

-- name: claim_disabled_notice
select email, full_name, organization_name, url, failing_since
from private.claim_endpoint_disabled_notice_v1(%(endpoint_id)s);

-- Key rotation (`atende rotate-secrets`, as the service role) ---------------------------

-- name: endpoint_secrets_after
-- A batch of endpoints' stored secrets, in id order after %(after)s (keyset pagination).
select id, secret_ciphertext
from public.webhook_endpoints
where id > %(after)s
order by id
limit %(limit)s;

-- name: endpoint_secret
select secret_ciphertext from public.webhook_endpoints where id = %(endpoint_id)s;

-- name: replace_endpoint_secret
-- Compare-and-set, as for channels: a secret changed since it was read is not overwritten.
update public.webhook_endpoints
set secret_ciphertext = %(ciphertext)s
where id = %(endpoint_id)s and secret_ciphertext = %(expected)s
returning id;
