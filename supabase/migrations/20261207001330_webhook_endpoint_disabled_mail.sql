-- Outgoing webhooks (issue 20, item 2): when Atende disables an endpoint that has failed
-- for days, its organization's owners are mailed, once.
--
-- The delivery job, after an attempt that failed, claims the notice
-- (`private.claim_endpoint_disabled_notice_v1`): the first caller after the endpoint was
-- disabled gets its owners' addresses and marks the notice sent, in the transaction
-- that queues the mails (the outbox's, `private.queue_mail_v1`), so two deliveries
-- failing together mail once, and a mail is queued if and only if the mark commits.
-- Enabling the endpoint again clears the mark.

alter table public.webhook_endpoints add column owners_notified_at timestamptz;

comment on column public.webhook_endpoints.owners_notified_at is
    'When the owners were mailed that Atende disabled the endpoint; cleared when it is enabled.';

create or replace function private.tg_webhook_endpoints__enabled_again() returns trigger
    language plpgsql
    volatile
    set search_path = pg_catalog
as $$
begin
    if new.enabled and not old.enabled then
        new.disabled_reason := null;
        new.failing_since := null;
        new.owners_notified_at := null;
    end if;
    return new;
end;
$$;

-- The owners to mail that the endpoint was disabled for failing, when nobody has been
-- told yet (and the mark that they are being told); no row otherwise.
create function private.claim_endpoint_disabled_notice_v1(endpoint_id uuid)
    returns table (email text, full_name text, organization_name text, url text,
                   failing_since timestamptz)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_column
declare
    the_endpoint public.webhook_endpoints;
begin
    update public.webhook_endpoints as e
    set owners_notified_at = now()
    where e.id = claim_endpoint_disabled_notice_v1.endpoint_id
      and not e.enabled and e.disabled_reason = 'failing' and e.owners_notified_at is null
    returning * into the_endpoint;
    if not found then
        return;
    end if;
    return query
    select p.email, p.full_name, o.name, the_endpoint.url, the_endpoint.failing_since
    from public.memberships as m
    join public.profiles as p on p.id = m.user_id
    join public.organizations as o on o.id = m.organization_id
    where m.organization_id = the_endpoint.organization_id and m.role = 'owner'
    order by p.email;
end;
$$;

comment on function private.claim_endpoint_disabled_notice_v1 is
    'The owners to mail about an endpoint disabled for failing, once (marks it notified).';

revoke all on function private.claim_endpoint_disabled_notice_v1(uuid)
    from public, anon, authenticated, service_role;
grant execute on function private.claim_endpoint_disabled_notice_v1(uuid) to service_role;
