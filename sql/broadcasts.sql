-- Broadcasts (atende.channels.broadcasts; 20261207001560_broadcasts.sql).

-- The team's (as the caller; row-level security shows their organizations' rows) ----------

-- name: create_broadcast
select public.create_broadcast_v1(
    %(channel_id)s, %(template_id)s, %(variables)s::jsonb, %(contact_ids)s::uuid[],
    %(tag)s::text
) as broadcast_id;

-- name: cancel_broadcast
select public.cancel_broadcast_v1(%(broadcast_id)s) as broadcast_id;

-- name: set_channel_broadcast_rate
-- RLS lets owners and admins change their channels; the constraint checks the range.
update public.channels
set broadcast_rate_per_second = %(rate)s
where id = %(channel_id)s
returning id;

-- name: channel_caller_role
select private.caller_role_in(ch.organization_id)::text as caller_role
from public.channels as ch
where ch.id = %(channel_id)s;

-- name: broadcast_rates_of_channels
select ch.id, private.broadcast_rate(ch.kind, ch.broadcast_rate_per_second) as rate
from public.channels as ch
where ch.id = any(%(channel_ids)s::uuid[]);

-- name: broadcasts_by_id
-- Each broadcast with its counts, from its recipients (and a sent one's message).
select b.id, b.organization_id, b.channel_id, b.template_id, b.template_name, b.body,
       b.variables, b.rate_per_second, b.status::text as status, b.total, b.created_by,
       b.created_at, b.finished_at, counts.*
from public.broadcasts as b
cross join lateral (
    select count(*) filter (where state = 'queued') as queued,
           count(*) filter (where state in ('sending', 'sent', 'delivered')) as sent,
           count(*) filter (where state = 'delivered') as delivered,
           count(*) filter (where state = 'failed') as failed,
           count(*) filter (where state = 'skipped') as skipped,
           count(*) filter (where state = 'cancelled') as cancelled
    from (
        select private.broadcast_recipient_state(r.status, m.status) as state
        from public.broadcast_recipients as r
        left join public.messages as m on m.id = r.message_id
        where r.broadcast_id = b.id
    ) as states
) as counts
where b.id = any(%(ids)s::uuid[]);

-- name: broadcast_ids_of_organization
-- A page of an organization's broadcasts, newest first, after a (created_at, id) keyset;
-- one more row than the page tells if more follow.
select id, created_at
from public.broadcasts
where organization_id = %(organization_id)s
  and (created_at, id) < (%(after_time)s::timestamptz, %(after_id)s::uuid)
order by created_at desc, id desc
limit %(limit)s;

-- name: recipients_of_broadcast
-- A page of a broadcast's recipients in sending order, after a position, each with how to
-- show its contact (a recipient goes with its contact: the key cascades).
select r.broadcast_id, r.contact_id, r.position, r.reason, r.conversation_id, r.message_id,
       r.handled_at, private.broadcast_recipient_state(r.status, m.status) as state,
       m.error_code, m.error_message,
       coalesce(c.display_name, c.profile_name, c.phone_number) as contact_name,
       c.phone_number as contact_phone_number
from public.broadcast_recipients as r
join public.contacts as c on c.id = r.contact_id
left join public.messages as m on m.id = r.message_id
where r.broadcast_id = %(broadcast_id)s and r.position > %(after_position)s
order by r.position
limit %(limit)s;

-- The platform's (the broadcast job) --------------------------------------------------------

-- name: claim_broadcast_batch
select status::text as status, handled, remaining, wait_seconds
from private.claim_broadcast_batch_v1(%(broadcast_id)s, %(batch_size)s);

-- name: continue_broadcast
select private.continue_broadcast_v1(%(broadcast_id)s) as job_id;

-- name: give_up_broadcast
select private.give_up_broadcast_v1(%(broadcast_id)s, %(reason)s)::text as status;

-- name: broadcast_rate
select rate_per_second from public.broadcasts where id = %(broadcast_id)s;
