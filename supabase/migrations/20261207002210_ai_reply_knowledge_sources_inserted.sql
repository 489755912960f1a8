-- A reply's run records its knowledge passages as it is inserted.
--
-- private.record_ai_reply_v2 (20261207001200_knowledge) called record_ai_reply_v1, which
-- inserts the run, and then updated that run to add knowledge_sources: every AI reply of
-- an agent with knowledge wrote its ai_runs row twice (a second row version, its index
-- entries, a dead tuple for vacuum), in the reply job's hot path. Now the same steps as
-- v1 with the passages in the insert; v1 stays for its callers (pgTAP). Same signature,
-- outcomes and grants.

create or replace function private.record_ai_reply_v2(
    conversation_id uuid,
    body text,
    answered_through timestamptz,
    model text,
    prompt_tokens integer default 0,
    completion_tokens integer default 0,
    latency_ms integer default 0,
    knowledge_sources jsonb default null
)
    returns table (run_id uuid, outcome text, message_id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    the_conversation public.conversations;
    blocker text;
    new_run_id uuid := gen_random_uuid();
    new_message_id uuid;
    refused_by text;
begin
    select * into the_conversation from public.conversations as c
    where c.id = conversation_id
    for update;
    if not found then
        return;
    end if;

    blocker := private.ai_reply_blocker(conversation_id);
    if blocker is null and exists (
        select from public.messages as m
        where m.conversation_id = conversation_id and m.author = 'member'
          and m.created_at > coalesce(answered_through, '-infinity')
    ) then
        blocker := 'team_replied';
    end if;

    if blocker is null then
        begin
            new_message_id := private.queue_outbound_message(
                conversation_id => conversation_id,
                author => 'ai',
                body => body,
                metadata => jsonb_build_object('ai_run_id', new_run_id, 'kind', 'reply')
            );
        exception when check_violation then
            get stacked diagnostics refused_by = constraint_name;
            blocker := coalesce(nullif(refused_by, ''), 'refused');
        end;
    end if;

    if blocker is not null then
        insert into public.ai_runs (id, organization_id, conversation_id, model, prompt_tokens,
                                    completion_tokens, latency_ms, outcome, error,
                                    knowledge_sources)
        values (new_run_id, the_conversation.organization_id, conversation_id, model,
                coalesce(prompt_tokens, 0), coalesce(completion_tokens, 0),
                coalesce(latency_ms, 0), 'skipped',
                'the reply was not sent: ' || blocker, knowledge_sources);
        return query select new_run_id, 'skipped'::text, null::uuid;
        return;
    end if;

    update public.conversations as c
    set ai_answered_through = greatest(c.ai_answered_through, answered_through)
    where c.id = conversation_id;

    insert into public.ai_runs (id, organization_id, conversation_id, message_id, model,
                                prompt_tokens, completion_tokens, latency_ms, outcome,
                                knowledge_sources)
    values (new_run_id, the_conversation.organization_id, conversation_id, new_message_id, model,
            coalesce(prompt_tokens, 0), coalesce(completion_tokens, 0), coalesce(latency_ms, 0),
            'replied', knowledge_sources);
    return query select new_run_id, 'replied'::text, new_message_id;
end;
$$;
