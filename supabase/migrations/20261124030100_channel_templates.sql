-- Channel templates: the WhatsApp message templates (Twilio Content API, ContentSid
-- HX...) a channel may send outside the 24-hour customer-service window, and the
-- function through which a member sends one.

-- A template's channel must belong to the template's organization: the foreign key
-- below names both columns, so this pair needs a key of its own.
alter table public.channels
    add constraint channels_id_organization_id_key unique (id, organization_id);

-- A template's variables: [{"key": "1", "name": "nome do cliente"}, ...], keys as Twilio's
-- ContentVariables names them ("1", "2", ... or named), each once.
create function private.template_variables_are_valid(variables jsonb)
    returns boolean
    language sql
    immutable
    parallel safe
    set search_path = pg_catalog
as $$
    select jsonb_typeof(variables) = 'array'
        and jsonb_array_length(variables) <= 50
        and not exists (
            select from jsonb_array_elements(variables) as v (item)
            where jsonb_typeof(v.item) <> 'object'
               or coalesce(v.item ->> 'key', '') !~ '^[A-Za-z0-9_]{1,64}$'
               or char_length(coalesce(v.item ->> 'name', '')) not between 1 and 100
        )
        and (select count(distinct v.item ->> 'key') from jsonb_array_elements(variables) as v (item))
            = jsonb_array_length(variables)
$$;

comment on function private.template_variables_are_valid is
    'A template''s variables: an array of {key, name} objects, keys unique and ContentVariables-shaped.';

create table public.channel_templates (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    channel_id uuid not null,
    -- What the team calls it ("lembrete_pedido").
    name text not null,
    -- The approved template in Twilio's Content API.
    content_sid text not null,
    language text not null default 'pt_BR',
    variables jsonb not null default '[]',
    -- The approved text with {{key}} placeholders, to show the sent message in the
    -- history; Twilio renders the real one from content_sid.
    body text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint channel_templates_channel_fkey foreign key (channel_id, organization_id)
        references public.channels (id, organization_id) on delete cascade,
    constraint channel_templates_name_length check (char_length(btrim(name)) between 1 and 100),
    constraint channel_templates_content_sid_format check (content_sid ~ '^HX[0-9a-fA-F]{32}$'),
    constraint channel_templates_language_format
        check (language ~ '^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$'),
    constraint channel_templates_variables_valid
        check (private.template_variables_are_valid(variables)),
    constraint channel_templates_body_length check (char_length(body) <= 1600),
    constraint channel_templates_channel_name_language_key unique (channel_id, name, language)
);

comment on table public.channel_templates is
    'Approved WhatsApp templates (ContentSid) a channel may send, also outside the 24-hour window.';

create index channel_templates_organization_id_idx on public.channel_templates (organization_id);

create trigger tg_channel_templates__set_updated_at
    before update on public.channel_templates
    for each row execute function private.tg__set_updated_at();

alter table public.channel_templates enable row level security;

create policy "Members can read their organizations' templates"
    on public.channel_templates for select to authenticated
    using (organization_id in (select private.organizations_of_caller()));

create policy "Owners and admins can add templates"
    on public.channel_templates for insert to authenticated
    with check (organization_id in (select private.organizations_where_caller_is('{owner,admin}')));

create policy "Owners and admins can change templates"
    on public.channel_templates for update to authenticated
    using (organization_id in (select private.organizations_where_caller_is('{owner,admin}')))
    with check (organization_id in (select private.organizations_where_caller_is('{owner,admin}')));

create policy "Owners and admins can remove templates"
    on public.channel_templates for delete to authenticated
    using (organization_id in (select private.organizations_where_caller_is('{owner,admin}')));

revoke all on table public.channel_templates from anon, authenticated;
grant select on table public.channel_templates to authenticated;
grant insert (organization_id, channel_id, name, content_sid, language, variables, body)
    on table public.channel_templates to authenticated;
grant update (name, content_sid, language, variables, body)
    on table public.channel_templates to authenticated;
grant delete on table public.channel_templates to authenticated;

-- Sending a template -----------------------------------------------------------------

-- A member sends an approved template in a conversation of their organization: the
-- template must be one of the conversation's channel, every variable given (and no
-- other), the channel enabled. Then it is queued like any outbound message
-- (private.queue_outbound_message: opted-out contacts and closed conversations are
-- refused there; templates may go outside the WhatsApp window).
--
-- Refusals raise with a named constraint the API maps to typed results:
-- conversation_not_found, template_not_found, template_variables_invalid,
-- channel_disabled (and queue_outbound_message's).
create function public.send_template_message_v1(
    conversation_id uuid,
    template_id uuid,
    variables jsonb default '{}'
)
    returns uuid
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    the_conversation public.conversations;
    the_template public.channel_templates;
    the_channel public.channels;
    given jsonb := coalesce(variables, '{}');
    expected text[];
    missing text;
    preview text;
    variable record;
begin
    select * into the_conversation from public.conversations
    where id = send_template_message_v1.conversation_id
      and organization_id in (select private.organizations_of_caller());
    if not found then
        raise exception 'no such conversation'
            using errcode = 'no_data_found', constraint = 'conversation_not_found';
    end if;
    select * into the_template from public.channel_templates
    where id = template_id and channel_id = the_conversation.channel_id;
    if not found then
        raise exception 'no such template on this conversation''s channel'
            using errcode = 'no_data_found', constraint = 'template_not_found';
    end if;
    select * into strict the_channel from public.channels where id = the_conversation.channel_id;
    if not the_channel.enabled then
        raise exception 'the channel is disabled'
            using errcode = 'check_violation', constraint = 'channel_disabled';
    end if;

    if jsonb_typeof(given) <> 'object' then
        raise exception 'variables must be an object'
            using errcode = 'check_violation', constraint = 'template_variables_invalid';
    end if;
    expected := array(select v.item ->> 'key' from jsonb_array_elements(the_template.variables) as v (item));
    select key into missing from unnest(expected) as key
    where char_length(btrim(coalesce(given ->> key, ''))) = 0
    limit 1;
    if missing is not null then
        raise exception 'the variable % needs a value', missing
            using errcode = 'check_violation', constraint = 'template_variables_invalid';
    end if;
    select key into missing from jsonb_object_keys(given) as key
    where key <> all (expected)
    limit 1;
    if missing is not null then
        raise exception 'the template has no variable %', missing
            using errcode = 'check_violation', constraint = 'template_variables_invalid';
    end if;
    if exists (
        select from jsonb_each(given) as g
        where jsonb_typeof(g.value) <> 'string' or char_length(g.value #>> '{}') > 1000
    ) then
        raise exception 'variable values are texts of up to 1000 characters'
            using errcode = 'check_violation', constraint = 'template_variables_invalid';
    end if;

    preview := coalesce(the_template.body, '');
    for variable in select * from jsonb_each_text(given) loop
        preview := replace(preview, '{{' || variable.key || '}}', variable.value);
    end loop;

    return private.queue_outbound_message(
        conversation_id => the_conversation.id,
        author => 'member',
        body => left(preview, 10000),
        author_member_id => (select auth.uid()),
        metadata => jsonb_build_object(
            'content_sid', the_template.content_sid,
            'content_variables', given,
            'template_id', the_template.id,
            'template_name', the_template.name
        )
    );
end;
$$;

comment on function public.send_template_message_v1 is
    'A member sends an approved template (ContentSid) in a conversation; queued with its send job.';

revoke all on function public.send_template_message_v1 from public;
grant execute on function public.send_template_message_v1 to authenticated, service_role;
