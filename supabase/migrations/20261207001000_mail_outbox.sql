-- E-mail that is really sent (issue 17, item 1).
--
-- A mail is written into the outbox, rendered (subject, plain text, HTML), by the
-- transaction that causes it, which defers the send job in the same call
-- (`private.queue_mail_v1`): the mail exists if and only if that transaction commits,
-- and sending it never blocks or fails the request. The job `mail:send_mail` (worker,
-- queue `mail`) hands it to the SMTP server and records the outcome: `sent`, or the
-- error and a retry with backoff (transient failures), or `failed` (a permanent 5xx
-- refusal, or too many attempts). Only the platform (service role) reads or writes it.

create table private.mail_outbox (
    id uuid primary key default gen_random_uuid(),
    recipient text not null,
    kind text not null,
    subject text not null,
    text text not null,
    html text not null,
    status text not null default 'queued',
    attempts integer not null default 0,
    last_error text,
    created_at timestamptz not null default now(),
    sent_at timestamptz,
    constraint mail_outbox_status check (status in ('queued', 'sent', 'failed')),
    constraint mail_outbox_sent_at check ((status = 'sent') = (sent_at is not null)),
    constraint mail_outbox_recipient check (recipient ~ '^[^@\s]+@[^@\s]+$'),
    constraint mail_outbox_kind check (kind ~ '^[a-z][a-z0-9_]*$'),
    constraint mail_outbox_attempts check (attempts >= 0)
);

comment on table private.mail_outbox is
    'Mails to send, rendered; mail:send_mail sends each and records the outcome.';
comment on column private.mail_outbox.text is
    'The plain-text part; may hold a one-time link: never logged.';
comment on column private.mail_outbox.last_error is
    'The last failure, as the SMTP server or the network said it (never the SMTP password).';

-- Operators look for what did not go out.
create index mail_outbox_unsent_idx on private.mail_outbox (created_at)
    where status <> 'sent';

alter table private.mail_outbox enable row level security;
revoke all on table private.mail_outbox from public, anon, authenticated;
grant select, insert, update, delete on table private.mail_outbox to service_role;

-- Queue a mail: insert it and defer its send job, in the caller's transaction.
create function private.queue_mail_v1(
    recipient text, kind text, subject text, text text, html text
)
    returns uuid
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    mail_id uuid;
begin
    insert into private.mail_outbox (recipient, kind, subject, text, html)
    values (queue_mail_v1.recipient, queue_mail_v1.kind, queue_mail_v1.subject,
            queue_mail_v1.text, queue_mail_v1.html)
    returning id into mail_id;
    perform private.defer_job(
        task_name => 'mail:send_mail',
        args => jsonb_build_object('mail_id', mail_id),
        queue_name => 'mail'
    );
    return mail_id;
end;
$$;

comment on function private.queue_mail_v1(text, text, text, text, text) is
    'Writes a rendered mail into the outbox and defers mail:send_mail, in one transaction.';

revoke all on function private.queue_mail_v1(text, text, text, text, text)
    from public, anon, authenticated;
grant execute on function private.queue_mail_v1(text, text, text, text, text) to service_role;
