-- AI runs: one row per attempt to answer a conversation with the model, for cost
-- reporting (tokens), latency, and the history of what went wrong.

create table public.ai_runs (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    conversation_id uuid not null references public.conversations (id) on delete cascade,
    -- The message the run produced: the reply, the handoff notice or the fallback.
    message_id uuid references public.messages (id) on delete set null,
    model text not null,
    prompt_tokens integer not null default 0,
    completion_tokens integer not null default 0,
    latency_ms integer not null default 0,
    -- replied: the model answered; handoff: it handed over to a person;
    -- fallback: it failed for good and the customer got the fallback message;
    -- retrying: a transient failure that will be tried again; skipped: nothing to do.
    outcome text not null,
    -- Why the run failed, in words safe to show the team (never a key or a token).
    error text,
    created_at timestamptz not null default now(),
    constraint ai_runs_outcome check (
        outcome in ('replied', 'handoff', 'fallback', 'retrying', 'skipped')
    ),
    constraint ai_runs_tokens_not_negative check (prompt_tokens >= 0 and completion_tokens >= 0),
    constraint ai_runs_latency_not_negative check (latency_ms >= 0)
);

comment on table public.ai_runs is 'Each attempt of the AI to answer a conversation: model, tokens, latency, outcome.';

create index ai_runs_organization_created_idx on public.ai_runs (organization_id, created_at);
create index ai_runs_conversation_idx on public.ai_runs (conversation_id, created_at);

alter table public.ai_runs enable row level security;

create policy "Members can read their organizations' AI runs"
    on public.ai_runs for select to authenticated
    using (organization_id in (select private.organizations_of_caller()));

revoke all on table public.ai_runs from anon, authenticated;
grant select on table public.ai_runs to authenticated;
