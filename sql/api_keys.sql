-- API keys (identity.api_keys; 20261207001310_api_keys.sql).

-- The team's (as the caller) ----------------------------------------------------------

-- name: create_api_key
-- The SQL function checks the caller's role and makes the secret; returns it once.
select api_key_id, secret
from public.create_api_key_v1(%(organization_id)s, %(name)s, %(role)s::public.membership_role);

-- name: revoke_api_key
select public.revoke_api_key_v1(%(api_key_id)s) as api_key_id;

-- name: api_keys_by_id
-- Keys the caller may see (owners and admins: RLS), never the digest.
select id, organization_id, name, role::text, prefix, created_by, created_at, last_used_at,
       revoked_at, revoked_by
from public.api_keys
where id = any(%(ids)s::uuid[]);

-- name: api_keys_of_organizations
-- Every key of these organizations the caller may see, newest first, revoked ones too.
select id, organization_id, name, role::text, prefix, created_by, created_at, last_used_at,
       revoked_at, revoked_by
from public.api_keys
where organization_id = any(%(organization_ids)s::uuid[])
order by created_at desc, id desc;

-- The platform's (authentication) -------------------------------------------------------

-- name: api_key_by_digest
-- The key a secret belongs to, found by its digest (unique index): what a request with
-- the secret acts as, and whether it still may.
select id, organization_id, role::text, revoked_at is null as active
from public.api_keys
where secret_digest = %(secret_digest)s;

-- name: api_keys_active
-- Which of these keys are still not revoked (a subscription's watch).
select id, revoked_at is null as active
from public.api_keys
where id = any(%(ids)s::uuid[]);

-- name: record_api_key_uses
-- A batch of counted uses: each window's total comes back (the limit is shared).
select api_key_id, window_start, uses_in_window
from private.record_api_key_uses_v1(%(api_key_ids)s::uuid[], %(window_starts)s::timestamptz[],
                                    %(uses)s::integer[], %(window)s::interval);
