-- API keys keep the knowledge base as members do: owners' and admins' keys add, change
-- and remove documents (a catalogue synced from the business's own system). The caller's
-- role comes from private.caller_role_in, which knows members and keys alike. A key is
-- nobody, so a document it adds has no created_by (the column references auth.users).

create or replace function public.add_knowledge_document_v1(
    organization_id uuid,
    title text,
    content text,
    source_format text default 'text',
    file_name text default null
)
    returns table (outcome text, id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    caller_role public.membership_role := private.caller_role_in(organization_id);
    new_id uuid;
begin
    if caller_role is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;
    if caller_role not in ('owner', 'admin') then
        return query select 'forbidden'::text, null::uuid;
        return;
    end if;
    insert into public.knowledge_documents as d
        (organization_id, title, content, source_format, file_name, created_by)
    values (add_knowledge_document_v1.organization_id, btrim(title), content,
            source_format, file_name,
            -- A key is nobody: its documents have no author.
            case when private.api_key_of_caller() is null then auth.uid() end)
    returning d.id into new_id;
    perform private.defer_knowledge_indexing(new_id);
    return query select 'added'::text, new_id;
end;
$$;
comment on function public.add_knowledge_document_v1(uuid, text, text, text, text) is
    'Stores a knowledge document (owners and admins) and defers its indexing in the same transaction.';

create or replace function public.update_knowledge_document_v1(
    document_id uuid,
    title text default null,
    content text default null,
    source_format text default null,
    file_name text default null
)
    returns table (outcome text, id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    the_document public.knowledge_documents;
    caller_role public.membership_role;
begin
    select * into the_document from public.knowledge_documents as d
    where d.id = document_id
    for update;
    caller_role := private.caller_role_in(the_document.organization_id);
    if the_document.id is null or caller_role is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;
    if caller_role not in ('owner', 'admin') then
        return query select 'forbidden'::text, null::uuid;
        return;
    end if;
    -- Any change re-indexes: the title is part of every passage's context.
    update public.knowledge_documents as d
    set title = coalesce(btrim(title), d.title),
        content = coalesce(content, d.content),
        source_format = case when content is null then d.source_format
                             else coalesce(source_format, 'text') end,
        file_name = case when content is null then d.file_name else file_name end,
        status = 'pending',
        error = null,
        revision = d.revision + 1
    where d.id = document_id;
    perform private.defer_knowledge_indexing(document_id);
    return query select 'updated'::text, document_id;
end;
$$;
comment on function public.update_knowledge_document_v1(uuid, text, text, text, text) is
    'Changes a knowledge document''s title or content (owners and admins) and re-indexes it.';

create or replace function public.remove_knowledge_document_v1(document_id uuid)
    returns table (outcome text, id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_variable
declare
    organization uuid;
    caller_role public.membership_role;
begin
    select d.organization_id into organization from public.knowledge_documents as d
    where d.id = document_id;
    caller_role := private.caller_role_in(organization);
    if organization is null or caller_role is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;
    if caller_role not in ('owner', 'admin') then
        return query select 'forbidden'::text, null::uuid;
        return;
    end if;
    -- Its passages go with it (on delete cascade); a waiting job finds nothing to do.
    delete from public.knowledge_documents as d where d.id = document_id;
    return query select 'removed'::text, document_id;
end;
$$;
comment on function public.remove_knowledge_document_v1(uuid) is
    'Deletes a knowledge document and its passages (owners and admins).';
