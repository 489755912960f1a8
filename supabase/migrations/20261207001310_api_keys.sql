-- API keys (issue 20, item 1): a business's own systems call the API as the organization.
--
-- A key belongs to one organization and has a role (owner, admin or agent), as a member
-- does. A request with `Authorization: Bearer <key>` runs as role `authenticated` with
-- the key's id as its subject (`sub`, so auth.uid() is the key's id; the API adds an
-- `api_key_id` claim for the logs): a per-key principal. The membership helpers every
-- policy asks (`private.organizations_of_caller`, `private.organizations_where_caller_is`,
-- `private.caller_role_in`) answer for a key from this table, as for a person from
-- memberships, so the existing row-level security judges a key exactly as it judges a
-- member with the key's role, in its organization alone, and only while the key is not
-- revoked: a revoked key sees and changes nothing from its next statement on, whatever
-- the API process still believes.
--
-- What a key is not: a person. It has no profile, no read positions, no session. It
-- manages neither people (members and invitations) nor keys: a leaked key must not be
-- able to mint another that outlives its revocation, nor let people in. The functions
-- that change memberships refuse it (lock_organization_for_member_change below); the
-- invitation functions take a person's id (`actor`) from the API, which a key is not.
--
-- The secret is made here (256 random bits, `atende_` and base64url), returned once by
-- create_api_key_v1, and kept only as its SHA-256 digest; `prefix` (its first 15
-- characters) is what the team sees to tell keys apart.

create table public.api_keys (
    id uuid primary key default gen_random_uuid(),
    organization_id uuid not null references public.organizations (id) on delete cascade,
    name text not null,
    role public.membership_role not null,
    prefix text not null,
    secret_digest text not null,
    created_by uuid references public.profiles (id) on delete set null,
    created_at timestamptz not null default now(),
    last_used_at timestamptz,
    revoked_at timestamptz,
    revoked_by uuid references public.profiles (id) on delete set null,
    constraint api_keys_name_length check (char_length(btrim(name)) between 1 and 100),
    constraint api_keys_prefix_format check (prefix ~ '^atende_[A-Za-z0-9_-]{8}$'),
    constraint api_keys_secret_digest_format check (secret_digest ~ '^[0-9a-f]{64}$'),
    constraint api_keys_revoked_by_needs_revoked_at check (revoked_by is null or revoked_at is not null)
);

comment on table public.api_keys is
    'Credentials for an organization''s own systems: each acts in its organization with its '
    'role, under the same row-level security as a member, until revoked.';
comment on column public.api_keys.secret_digest is
    'SHA-256 (hex) of the secret, which is shown once and never stored: never readable by clients.';
comment on column public.api_keys.prefix is
    'The secret''s first 15 characters (atende_ and 8 more): how the team recognises a key.';
comment on column public.api_keys.last_used_at is
    'When the key was last used, to the minute (the API records uses in batches, not per request).';

-- The API finds a key by its secret's digest on every request it has not cached.
create unique index api_keys_secret_digest_key on public.api_keys (secret_digest);
-- Policies and the list filter by organization; the foreign keys to profiles are indexed
-- for the cascades of a deleted profile.
create index api_keys_organization_id_idx on public.api_keys (organization_id, created_at desc);
create index api_keys_created_by_idx on public.api_keys (created_by);
create index api_keys_revoked_by_idx on public.api_keys (revoked_by);

alter table public.api_keys enable row level security;

create policy "Owners and admins can read their organization's API keys"
    on public.api_keys for select to authenticated
    using (organization_id in (select private.organizations_where_caller_is('{owner,admin}')));

-- Reading only, and never the digest: every write is one of the functions below.
revoke all on table public.api_keys from public, anon, authenticated, service_role;
grant select (
    id, organization_id, name, role, prefix, created_by, created_at, last_used_at, revoked_at,
    revoked_by
) on table public.api_keys to authenticated;
-- The platform finds keys by digest (the API's authentication) and records their use.
grant select, update (last_used_at) on table public.api_keys to service_role;

-- Who is calling --------------------------------------------------------------------------

-- The caller's key, when the caller is an API key (and it is not revoked); null for a
-- person, anonymous or the platform.
create function private.api_key_of_caller() returns uuid
    language sql
    stable
    security definer
    set search_path = pg_catalog
as $$
    select k.id from public.api_keys as k
    where k.id = (select auth.uid()) and k.revoked_at is null
$$;

comment on function private.api_key_of_caller is
    'The calling API key''s id while it is not revoked; null when the caller is not a key.';

create or replace function private.organizations_of_caller() returns setof uuid
    language sql
    stable
    security definer
    set search_path = pg_catalog
as $$
    select organization_id from public.memberships where user_id = (select auth.uid())
    union all
    select k.organization_id from public.api_keys as k
    where k.id = (select auth.uid()) and k.revoked_at is null
$$;

comment on function private.organizations_of_caller is
    'The organizations the calling user belongs to, or the calling API key''s while it is '
    'not revoked (for policies: organization_id in (select ...)).';

create or replace function private.organizations_where_caller_is(roles public.membership_role[])
    returns setof uuid
    language sql
    stable
    security definer
    set search_path = pg_catalog
as $$
    select organization_id from public.memberships
    where user_id = (select auth.uid()) and role = any (roles)
    union all
    select k.organization_id from public.api_keys as k
    where k.id = (select auth.uid()) and k.revoked_at is null and k.role = any (roles)
$$;

comment on function private.organizations_where_caller_is is
    'The organizations where the calling user, or the calling API key (not revoked), holds '
    'one of these roles.';

create or replace function private.caller_role_in(organization uuid) returns public.membership_role
    language sql
    stable
    security definer
    set search_path = pg_catalog
as $$
    select role from public.memberships
    where organization_id = organization and user_id = (select auth.uid())
    union all
    select k.role from public.api_keys as k
    where k.organization_id = organization and k.id = (select auth.uid())
      and k.revoked_at is null
$$;

comment on function private.caller_role_in is
    'The calling user''s (or API key''s) role in the organization; null when neither a '
    'member nor a key of it.';

-- Membership changes are people's: a key is refused before anything is locked or read.
create or replace function private.lock_organization_for_member_change(organization uuid)
    returns public.membership_role
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    caller_role public.membership_role;
begin
    caller_role := private.caller_role_in(organization);
    if caller_role is null then
        -- Non-members learn nothing about the organization, not even that it exists.
        raise sqlstate 'PT404' using message = 'organization not found';
    end if;
    if private.api_key_of_caller() is not null then
        raise sqlstate 'PT403' using message = 'API keys cannot change members';
    end if;
    perform from public.organizations where id = organization for no key update;
    return caller_role;
end;
$$;

comment on function private.lock_organization_for_member_change is
    'Serialises membership changes of one organization; PT404 unless the caller is a member, '
    'PT403 for an API key.';

-- Sending as a key ------------------------------------------------------------------------

-- A key's messages are the team's (author 'member', the AI pauses as for a person's
-- reply) without a member: author_member_id stays null (it names a profile) and the
-- message's metadata keeps the key's id.
create or replace function public.send_member_message_v1(conversation_id uuid, body text)
    returns table (outcome text, message_id uuid)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    caller uuid := auth.uid();
    calling_key uuid := private.api_key_of_caller();
    the_conversation public.conversations;
    new_message_id uuid;
    refusal text;
begin
    select * into the_conversation from public.conversations as c
    where c.id = send_member_message_v1.conversation_id;
    if not found or caller is null
        or private.caller_role_in(the_conversation.organization_id) is null then
        return query select 'not_found'::text, null::uuid;
        return;
    end if;

    -- WhatsApp's limit for a free-form message.
    if body is null or btrim(body) = '' or char_length(body) > 4096 then
        return query select 'invalid_body'::text, null::uuid;
        return;
    end if;

    begin
        new_message_id := private.queue_outbound_message(
            conversation_id => the_conversation.id,
            author => 'member',
            body => body,
            author_member_id => case when calling_key is null then caller end,
            metadata => case when calling_key is null then '{}'::jsonb
                             else jsonb_build_object('api_key_id', calling_key) end
        );
    exception when check_violation then
        get stacked diagnostics refusal = constraint_name;
        if refusal in ('conversation_closed', 'contact_opted_out',
                       'outside_customer_service_window') then
            return query select refusal, null::uuid;
            return;
        end if;
        raise;
    end;

    update public.conversations set ai_enabled = false
    where id = the_conversation.id and ai_enabled;

    return query select 'queued'::text, new_message_id;
end;
$$;

comment on function public.send_member_message_v1 is
    'A team member''s (or API key''s) reply: queued with its send job under the WhatsApp '
    'rules; pauses the AI in the conversation.';

create or replace function public.send_template_message_v1(
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
    calling_key uuid := private.api_key_of_caller();
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
        author_member_id => case when calling_key is null then (select auth.uid()) end,
        metadata => jsonb_build_object(
            'content_sid', the_template.content_sid,
            'content_variables', given,
            'template_id', the_template.id,
            'template_name', the_template.name
        ) || case when calling_key is null then '{}'::jsonb
                  else jsonb_build_object('api_key_id', calling_key) end
    );
end;
$$;

comment on function public.send_template_message_v1 is
    'A member (or API key) sends an approved template (ContentSid) in a conversation; queued '
    'with its send job.';

-- Creating and revoking -------------------------------------------------------------------

-- A new key for an organization, by one of its owners or admins (only owners make owner
-- keys, as only owners make owners), never by a key. Returns the key's id and its secret,
-- which exists nowhere else from the moment this returns: the table keeps its digest.
create function public.create_api_key_v1(
    organization_id uuid,
    name text,
    role public.membership_role default 'agent'
)
    returns table (api_key_id uuid, secret text)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    caller_role public.membership_role := private.caller_role_in(create_api_key_v1.organization_id);
    new_secret text;
    new_id uuid;
begin
    if caller_role is null then
        raise sqlstate 'PT404' using message = 'organization not found';
    end if;
    if private.api_key_of_caller() is not null then
        raise sqlstate 'PT403' using message = 'API keys cannot create API keys';
    end if;
    if caller_role = 'agent' then
        raise sqlstate 'PT403' using message = 'only owners and admins can create API keys';
    end if;
    if create_api_key_v1.role = 'owner' and caller_role <> 'owner' then
        raise sqlstate 'PT403' using message = 'only an owner can create an owner key';
    end if;
    if create_api_key_v1.role is null then
        raise sqlstate '22023' using message = 'a key needs a role', column = 'role';
    end if;

    -- Serialise creations per organization, so the count below holds.
    perform from public.organizations as o
    where o.id = create_api_key_v1.organization_id for no key update;
    if (select count(*) from public.api_keys as k
        where k.organization_id = create_api_key_v1.organization_id and k.revoked_at is null)
        >= 50 then
        raise exception 'an organization has at most 50 active API keys'
            using errcode = 'check_violation', constraint = 'api_keys_per_organization';
    end if;

    new_secret := 'atende_'
        || translate(encode(extensions.gen_random_bytes(32), 'base64'), '+/=', '-_');
    insert into public.api_keys as k (organization_id, name, role, prefix, secret_digest,
                                      created_by)
    values (create_api_key_v1.organization_id, btrim(create_api_key_v1.name),
            create_api_key_v1.role, left(new_secret, 15),
            encode(sha256(convert_to(new_secret, 'UTF8')), 'hex'), (select auth.uid()))
    returning k.id into new_id;
    return query select new_id, new_secret;
end;
$$;

comment on function public.create_api_key_v1 is
    'A new API key (owners and admins; only owners make owner keys; never a key): its id '
    'and its secret, shown this once.';

-- Revokes a key (owners and admins; only owners revoke an owner key; never a key). A
-- key revoked already stays as it was revoked. Returns the key's id (the caller reads the
-- row through its grants, without the digest); PT404 for a key the caller cannot see.
create function public.revoke_api_key_v1(api_key_id uuid)
    returns uuid
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    target public.api_keys;
    caller_role public.membership_role;
begin
    select * into target from public.api_keys as k where k.id = revoke_api_key_v1.api_key_id
    for update;
    if found then
        caller_role := private.caller_role_in(target.organization_id);
    end if;
    if not found or caller_role is null or caller_role = 'agent' then
        raise sqlstate 'PT404' using message = 'API key not found';
    end if;
    if private.api_key_of_caller() is not null then
        raise sqlstate 'PT403' using message = 'API keys cannot revoke API keys';
    end if;
    if target.role = 'owner' and caller_role <> 'owner' then
        raise sqlstate 'PT403' using message = 'only an owner can revoke an owner key';
    end if;
    if target.revoked_at is null then
        update public.api_keys as k set revoked_at = now(), revoked_by = (select auth.uid())
        where k.id = target.id;
    end if;
    return target.id;
end;
$$;

comment on function public.revoke_api_key_v1 is
    'Revokes an API key (owners and admins; only owners revoke an owner key; never a key): '
    'it sees and changes nothing from then on.';

-- Use: counted for the rate limit, and lastUsedAt -----------------------------------------

-- The API counts each key's requests in memory and hands the counts over about once a
-- second (API processes share the limit through these counters, the ones
-- private.rate_limit_hit_v1 keeps, under the action 'api_key'); here they are added to
-- the key's fixed window and the window's total comes back. last_used_at moves only
-- when it is a minute old: one write per key and minute, however busy the key.
create function private.record_api_key_uses_v1(
    api_key_ids uuid[],
    window_starts timestamptz[],
    uses integer[],
    "window" interval
)
    returns table (api_key_id uuid, window_start timestamptz, uses_in_window integer)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
#variable_conflict use_column
begin
    if record_api_key_uses_v1."window" is null
            or extract(epoch from record_api_key_uses_v1."window") < 1 then
        raise exception using errcode = '22023', message = 'the window is at least one second';
    end if;
    update public.api_keys as k set last_used_at = now()
    where k.id = any (record_api_key_uses_v1.api_key_ids)
      and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute');
    return query
    insert into private.rate_limit_counters as c (action, key, window_start, expires_at, attempts)
    select 'api_key', u.key_id::text, u.started, u.started + record_api_key_uses_v1."window",
           least(sum(u.n), 2147483647)::integer
    from unnest(record_api_key_uses_v1.api_key_ids, record_api_key_uses_v1.window_starts,
                record_api_key_uses_v1.uses) as u (key_id, started, n)
    where u.n > 0
    group by u.key_id, u.started
    on conflict on constraint rate_limit_counters_pkey
        do update set attempts = least(c.attempts::bigint + excluded.attempts, 2147483647)::integer
    returning c.key::uuid, c.window_start, c.attempts;
end;
$$;

comment on function private.record_api_key_uses_v1 is
    'Adds API keys'' uses to their rate-limit windows (returning each window''s total) and '
    'moves last_used_at, at most once a minute per key.';

-- Grants -----------------------------------------------------------------------------------

revoke all on function private.api_key_of_caller(),
    public.create_api_key_v1(uuid, text, public.membership_role),
    public.revoke_api_key_v1(uuid),
    private.record_api_key_uses_v1(uuid[], timestamptz[], integer[], interval)
    from public, anon, authenticated, service_role;
grant execute on function private.api_key_of_caller(),
    public.create_api_key_v1(uuid, text, public.membership_role),
    public.revoke_api_key_v1(uuid),
    private.record_api_key_uses_v1(uuid[], timestamptz[], integer[], interval)
    to service_role;
-- The team's actions, each of which checks the caller's role itself.
grant execute on function public.create_api_key_v1(uuid, text, public.membership_role),
    public.revoke_api_key_v1(uuid)
    to authenticated;
-- The caller's own role in an organization: what the channel API checks before asking
-- Twilio (sql/channels.sql), for a member or a key alike. It tells the caller only
-- about themselves.
grant execute on function private.caller_role_in(uuid) to authenticated;
