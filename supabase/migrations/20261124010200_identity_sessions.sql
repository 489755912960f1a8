-- Sessions: what a refresh token belongs to, and how it is rotated and revoked.
--
-- Access tokens are short-lived JWTs that carry the session's id (`session_id`); the
-- database never sees them. Refresh tokens are random strings that the database keeps only
-- as SHA-256 digests. Each refresh trades one token for a new one (rotation); presenting a
-- token that was already traded means it leaked or a client misbehaves, and revokes its
-- whole session (reuse detection). Signing out revokes the session.
--
-- Nothing here is reachable by anon or authenticated: the platform (service role) calls
-- the functions on the user's behalf.

create table private.sessions (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references auth.users (id) on delete cascade,
    created_at timestamptz not null default now(),
    refreshed_at timestamptz,
    revoked_at timestamptz,
    revoked_reason text,
    constraint sessions_revoked_reason check (
        (revoked_at is null) = (revoked_reason is null)
        and revoked_reason in ('sign_out', 'refresh_token_reuse')
    )
);

comment on table private.sessions is 'A signed-in device: the refresh tokens it traded belong to it.';

create index sessions_user_id_idx on private.sessions (user_id);

create table private.refresh_tokens (
    token_hash text primary key,
    session_id uuid not null references private.sessions (id) on delete cascade,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    rotated_at timestamptz,
    constraint refresh_tokens_hash_format check (token_hash ~ '^[0-9a-f]{64}$')
);

comment on table private.refresh_tokens is
    'Refresh tokens by SHA-256 digest (hex); rotated_at is set when traded for a new one.';
comment on column private.refresh_tokens.token_hash is
    'encode(sha256(token), ''hex''): the token itself is never stored.';

create index refresh_tokens_session_id_idx on private.refresh_tokens (session_id);
create index refresh_tokens_expires_at_idx on private.refresh_tokens (expires_at);

alter table private.sessions enable row level security;
alter table private.refresh_tokens enable row level security;
revoke all on table private.sessions, private.refresh_tokens from public, anon, authenticated;
grant select, insert, update, delete on table private.sessions, private.refresh_tokens
    to service_role;

-- Start --------------------------------------------------------------------------------

create function private.start_session_v1(user_id uuid, refresh_token_hash text, ttl interval)
    returns uuid
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    session_id uuid;
begin
    insert into private.sessions (user_id) values (start_session_v1.user_id)
    returning id into session_id;
    insert into private.refresh_tokens (token_hash, session_id, expires_at)
    values (refresh_token_hash, session_id, now() + ttl);
    return session_id;
end;
$$;

comment on function private.start_session_v1 is
    'Opens a session for a user whose credentials were just checked; returns its id.';

-- Refresh (rotate) ---------------------------------------------------------------------

-- Outcomes are returned, not raised: revoking a session on reuse must commit.
--   refreshed  the token was current; it is now rotated and new_refresh_token_hash is current
--   invalid    unknown, expired, or its session is revoked or gone
--   reused     the token had already been rotated: the session is now revoked
create function private.refresh_session_v1(
    refresh_token_hash text,
    new_refresh_token_hash text,
    ttl interval
)
    returns table (outcome text, session_id uuid, user_id uuid, email text)
    language plpgsql
    volatile
    security definer
    set search_path = pg_catalog
as $$
declare
    token private.refresh_tokens;
    session private.sessions;
    user_email text;
begin
    select * into token from private.refresh_tokens as t
    where t.token_hash = refresh_session_v1.refresh_token_hash
    for update;
    if not found then
        return query select 'invalid', null::uuid, null::uuid, null::text;
        return;
    end if;

    select * into session from private.sessions as s where s.id = token.session_id for update;
    if session.revoked_at is not null then
        return query select 'invalid', session.id, session.user_id, null::text;
        return;
    end if;

    if token.rotated_at is not null then
        update private.sessions as s
        set revoked_at = now(), revoked_reason = 'refresh_token_reuse'
        where s.id = session.id;
        return query select 'reused', session.id, session.user_id, null::text;
        return;
    end if;

    select u.email into user_email from auth.users as u
    where u.id = session.user_id
      and u.deleted_at is null
      and (u.banned_until is null or u.banned_until <= now());
    if token.expires_at <= now() or user_email is null then
        return query select 'invalid', session.id, session.user_id, null::text;
        return;
    end if;

    update private.refresh_tokens as t set rotated_at = now()
    where t.token_hash = token.token_hash;
    insert into private.refresh_tokens (token_hash, session_id, expires_at)
    values (new_refresh_token_hash, session.id, now() + ttl);
    update private.sessions as s set refreshed_at = now() where s.id = session.id;

    return query select 'refreshed', session.id, session.user_id, user_email;
end;
$$;

comment on function private.refresh_session_v1 is
    'Rotates a refresh token: refreshed, invalid, or reused (which revokes the session).';

-- Revoke -------------------------------------------------------------------------------

create function private.revoke_session_v1(session_id uuid, user_id uuid default null)
    returns boolean
    language sql
    volatile
    security definer
    set search_path = pg_catalog
as $$
    with revoked as (
        update private.sessions as s
        set revoked_at = now(), revoked_reason = 'sign_out'
        where s.id = revoke_session_v1.session_id
          and (revoke_session_v1.user_id is null or s.user_id = revoke_session_v1.user_id)
          and s.revoked_at is null
        returning 1
    )
    select exists (select from revoked)
$$;

comment on function private.revoke_session_v1 is
    'Signs a session out (only one of user_id''s, when given); true if it was active.';

create function private.revoke_session_by_refresh_token_v1(refresh_token_hash text)
    returns boolean
    language sql
    volatile
    security definer
    set search_path = pg_catalog
as $$
    select private.revoke_session_v1(t.session_id)
    from private.refresh_tokens as t
    where t.token_hash = revoke_session_by_refresh_token_v1.refresh_token_hash
$$;

comment on function private.revoke_session_by_refresh_token_v1 is
    'Signs out the session a refresh token (current or rotated) belongs to.';

-- Upkeep -------------------------------------------------------------------------------

-- Deletes sessions that can no longer be refreshed (revoked, or whose every refresh token
-- expired) once `keep` has passed, so the tables hold live sessions and recent history.
create function private.purge_sessions_v1(keep interval)
    returns integer
    language sql
    volatile
    security definer
    set search_path = pg_catalog
as $$
    with purged as (
        delete from private.sessions as s
        where coalesce(s.revoked_at, (
                select max(t.expires_at) from private.refresh_tokens as t
                where t.session_id = s.id
            ), s.created_at) < now() - keep
        returning 1
    )
    select count(*)::integer from purged
$$;

comment on function private.purge_sessions_v1 is
    'Deletes sessions dead (revoked or expired) for longer than keep; returns how many.';

revoke all on function private.start_session_v1 from public;
revoke all on function private.refresh_session_v1 from public;
revoke all on function private.revoke_session_v1 from public;
revoke all on function private.revoke_session_by_refresh_token_v1 from public;
revoke all on function private.purge_sessions_v1 from public;
grant execute on function private.start_session_v1 to service_role;
grant execute on function private.refresh_session_v1 to service_role;
grant execute on function private.revoke_session_v1 to service_role;
grant execute on function private.revoke_session_by_refresh_token_v1 to service_role;
grant execute on function private.purge_sessions_v1 to service_role;
