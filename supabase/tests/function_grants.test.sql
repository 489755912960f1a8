-- What a client's roles can execute and touch, read from the catalogue and compared with
-- the reviewed lists below. Runs on plain Postgres and on a database shaped like a new
-- Supabase project (make test-supabase), whose default privileges grant `anon` and
-- `authenticated` everything created in `public`: a function or table that reaches them
-- by default, or by a grant nobody reviewed, fails here. When you grant something to a
-- client role on purpose, add it to the list, with the reason in the migration.
begin;
select plan(6);

-- A function a role can call: it may execute it and look into its schema. Atende's
-- schemas only: `auth` and `extensions` belong to Supabase and to the extensions.
create function pg_temp.callable_by(role_name text) returns setof text
    language sql stable
as $$
    select p.oid::regprocedure::text
    from pg_proc as p
    join pg_namespace as n on n.oid = p.pronamespace
    where n.nspname in ('public', 'private', 'procrastinate', 'supabase_migrations')
      and has_function_privilege(role_name, p.oid, 'execute')
      and has_schema_privilege(role_name, n.oid, 'usage')
    order by 1
$$;

-- Every privilege a role holds on the tables, views and sequences of Atende's schemas:
-- "table PRIVILEGE" when it holds it on the whole table, "table PRIVILEGE (columns)"
-- when on some columns only.
create function pg_temp.privileges_of(role_name text) returns setof text
    language sql stable
as $$
    with relations as (
        select c.oid, c.relkind
        from pg_class as c
        join pg_namespace as n on n.oid = c.relnamespace
        where n.nspname in ('public', 'private', 'procrastinate', 'supabase_migrations')
          and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
          and has_schema_privilege(role_name, n.oid, 'usage')
    ),
    privileges (privilege) as (
        values ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'),
               ('TRIGGER')
    )
    select format('%s %s', r.oid::regclass, p.privilege)
    from relations as r
    cross join privileges as p
    where r.relkind <> 'S' and has_table_privilege(role_name, r.oid, p.privilege)
    union all
    select format('%s %s (%s)', r.oid::regclass, p.privilege,
                  string_agg(a.attname::text collate "default", ', ' order by a.attnum))
    from relations as r
    cross join privileges as p
    join pg_attribute as a on a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
    where r.relkind <> 'S'
      and p.privilege in ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
      and not has_table_privilege(role_name, r.oid, p.privilege)
      and has_column_privilege(role_name, r.oid, a.attnum, p.privilege)
    group by r.oid, p.privilege
    union all
    select format('%s USAGE', r.oid::regclass)
    from relations as r
    -- has_sequence_privilege raises on anything else, and the planner may call it first.
    where case when r.relkind = 'S' then has_sequence_privilege(role_name, r.oid, 'usage') end
    order by 1
$$;

select is_empty(
    $$ select * from pg_temp.callable_by('anon') $$,
    'anon can execute none of Atende''s functions'
);

select results_eq(
    $$ select * from pg_temp.callable_by('authenticated') $$,
    $$ values
        -- The knowledge base's writes (20261207001200_knowledge.sql): each checks the
        -- caller's role and defers the indexing job in the same transaction.
        ('add_knowledge_document_v1(uuid,text,text,text,text)'),
        -- Broadcasts (20261207001560_broadcasts.sql): owners and admins make and cancel
        -- them, checked inside; the rate and a recipient's state are read in the API's
        -- queries (plain functions of their arguments).
        ('cancel_broadcast_v1(uuid)'),
        -- Scheduled sends (20261207001540_scheduled_messages.sql): any member schedules and
        -- cancels in their organization, checked inside.
        ('cancel_scheduled_message_v1(uuid)'),
        -- API keys (20261207001310_api_keys.sql): owners and admins make and revoke them,
        -- checked inside; the channel API asks the caller's own role in an organization.
        ('create_api_key_v1(uuid,text,membership_role)'),
        ('create_broadcast_v1(uuid,uuid,jsonb,uuid[],text)'),
        -- Contacts (20261207001500_contacts_management.sql): any member creates and changes
        -- them, owners and admins import, checked inside; the tags' check and its
        -- normalisation run as whoever updates a contact.
        ('create_contact_import_v1(uuid,text,text,integer)'),
        ('create_contact_v1(uuid,text,text,jsonb,text[])'),
        -- Retention and erasure (20261207001800_retention_and_erasure.sql): owners and
        -- admins erase a contact, owners set the retention, checked inside.
        ('erase_contact_v1(uuid)'),
        ('private.broadcast_rate(channel_kind,numeric)'),
        ('private.broadcast_recipient_state(broadcast_recipient_status,message_status)'),
        ('private.caller_role_in(uuid)'),
        ('private.contact_tags_are_valid(text[])'),
        -- Knowledge search's full-text leg (20261207002400_knowledge_full_text_matches.sql):
        -- runs as owner for the index's sake, after the passages' policy's own check.
        ('private.knowledge_full_text_matches_v1(uuid,tsquery,integer)'),
        -- A message's shared location, read by the inbox view members query
        -- (20261207001600_voice_images_locations.sql); it reads only its argument.
        ('private.message_location(jsonb)'),
        ('private.normalize_contact_tags(text[])'),
        ('private.organizations_of_caller()'),
        ('private.organizations_where_caller_is(membership_role[])'),
        ('private.template_variables_are_valid(jsonb)'),
        -- The events check constraint of webhook_endpoints (20261207001320_outgoing_webhooks.sql).
        ('private.webhook_event_types()'),
        ('private.window_end(channel_kind,timestamp with time zone)'),
        ('redeliver_webhook_v1(uuid)'),
        ('remove_knowledge_document_v1(uuid)'),
        ('remove_member_v1(uuid,uuid)'),
        ('revoke_api_key_v1(uuid)'),
        ('schedule_message_v1(uuid,timestamp with time zone,text,uuid,jsonb)'),
        ('send_member_message_v1(uuid,text)'),
        -- A reply with files the team uploaded (20261207001400_message_media.sql): checks
        -- the caller's membership and the files' keys, kinds and sizes inside.
        ('send_member_message_v2(uuid,text,jsonb)'),
        ('send_template_message_v1(uuid,uuid,jsonb)'),
        ('set_message_retention_v1(uuid,integer)'),
        -- Starting a conversation (20261207001520_start_conversation.sql): any member or
        -- key of the channel's organization, checked inside, like send_template_message_v1.
        ('start_conversation_v1(uuid,text,uuid,jsonb)'),
        ('update_contact_v1(uuid,text,jsonb,text[])'),
        ('update_knowledge_document_v1(uuid,text,text,text,text)'),
        ('update_member_role_v1(uuid,uuid,membership_role)'),
        ('window_expires_at(conversations)')
    $$,
    'authenticated can execute exactly the reviewed functions'
);

select is_empty(
    $$
    select p.oid::regprocedure::text
    from pg_proc as p
    where p.pronamespace = 'public'::regnamespace
      and p.prosecdef
      and has_function_privilege('service_role', p.oid, 'execute')
      and not has_function_privilege('authenticated', p.oid, 'execute')
    $$,
    'no platform-only function (security definer, service role alone) is left in public, '
    'where PostgREST would serve it'
);

-- PUBLIC's EXECUTE, which Postgres grants every new function, is revoked from each of
-- Atende's: the checks above see only roles that can reach a schema, and a role given
-- usage on private later would otherwise call every trigger and helper there.
select is_empty(
    $$
    select p.oid::regprocedure::text
    from pg_proc as p
    join pg_namespace as n on n.oid = p.pronamespace
    cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) as acl
    where n.nspname in ('public', 'private')
      and acl.grantee = 0  -- PUBLIC
      and acl.privilege_type = 'EXECUTE'
      and not exists (
          select from pg_depend as d
          where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'
      )
    $$,
    'no function of Atende''s schemas, triggers included, is executable by PUBLIC'
);

select is_empty(
    $$ select * from pg_temp.privileges_of('anon') $$,
    'anon holds no privilege on any of Atende''s tables, views or sequences'
);

select results_eq(
    $$ select * from pg_temp.privileges_of('authenticated') $$,
    $$ values
        ('agents SELECT'),
        ('agents UPDATE (name, system_prompt, model, temperature, history_messages, history_tokens, debounce_seconds, fallback_message, handoff_message, inactivity_hours, follow_up_message, follow_up_after_minutes, ai_enabled, knowledge_enabled, knowledge_passages, answer_only_from_knowledge, follow_up_template_id, vision_enabled)'),
        ('ai_runs SELECT'),
        -- Owners and admins read their organization's API keys, never the secret's digest
        -- (20261207001310_api_keys.sql); every write is a function's.
        ('api_keys SELECT (id, organization_id, name, role, prefix, created_by, created_at, last_used_at, revoked_at, revoked_by)'),
        -- Members read their organizations' broadcasts under row-level security; every
        -- write is a function's (20261207001560_broadcasts.sql).
        ('broadcast_recipients SELECT'),
        ('broadcasts SELECT'),
        ('channel_templates DELETE'),
        ('channel_templates INSERT (organization_id, channel_id, name, content_sid, language, variables, body)'),
        ('channel_templates SELECT'),
        ('channel_templates UPDATE (name, content_sid, language, variables, body)'),
        ('channels INSERT (organization_id, kind, phone_number, display_name, twilio_account_sid, twilio_auth_token_ciphertext)'),
        -- A channel's broadcast pace, owners and admins set it under row-level security
        -- (20261207001560_broadcasts.sql).
        ('channels SELECT (id, organization_id, kind, phone_number, display_name, twilio_account_sid, enabled, created_at, updated_at, broadcast_rate_per_second)'),
        ('channels UPDATE (display_name, twilio_account_sid, twilio_auth_token_ciphertext, enabled, broadcast_rate_per_second)'),
        -- Owners read their organization's erasures, members its usage counters; the
        -- platform writes both (20261207001800_retention_and_erasure.sql).
        ('contact_erasures SELECT'),
        -- Owners and admins follow their imports, never the file's text
        -- (20261207001500_contacts_management.sql); every write is a function's.
        ('contact_imports SELECT (id, organization_id, created_by, file_name, status, total_rows, checked_rows, written_rows, created_count, updated_count, refused_count, refusals, error, created_at, updated_at, finished_at)'),
        ('contacts SELECT'),
        ('contacts UPDATE (display_name)'),
        ('conversation_reads INSERT (conversation_id, user_id, last_read_at)'),
        ('conversation_reads SELECT'),
        ('conversation_reads UPDATE (last_read_at)'),
        ('conversations SELECT'),
        ('conversations UPDATE (status, ai_enabled, assignee_id, closed_at)'),
        -- Owners and admins read their organization's invitations, never the token digest
        -- (20261207001100_accounts.sql); every write is the platform's.
        ('invitations SELECT (id, organization_id, email, role, invited_by, created_at, sent_at, expires_at, accepted_at, accepted_by, revoked_at)'),
        -- Members read their organization's knowledge base; writes go through the
        -- functions above (20261207001200_knowledge.sql).
        ('knowledge_documents SELECT'),
        ('knowledge_passages SELECT'),
        ('memberships SELECT'),
        ('messages SELECT'),
        ('organizations SELECT'),
        ('organizations UPDATE (name)'),
        -- The inbox's projections (20261207000500_inbox.sql): views that read as the
        -- caller (security_invoker), so the tables' grants and row-level security still
        -- decide; in private, which PostgREST does not serve.
        ('private.conversations_with_window SELECT'),
        ('private.inbox_entries SELECT'),
        ('profiles SELECT'),
        ('profiles UPDATE (full_name)'),
        -- Members read their organization's scheduled messages; every write is a function's
        -- (20261207001540_scheduled_messages.sql).
        ('scheduled_messages SELECT'),
        ('usage_counters SELECT'),
        -- Outgoing webhooks (20261207001320_outgoing_webhooks.sql): owners and admins manage
        -- endpoints under row-level security and may write their secret, never read it;
        -- deliveries are the platform's to write.
        ('webhook_deliveries SELECT'),
        -- Each attempt of a delivery (20261207001700_webhook_delivery_attempts.sql): read
        -- under row-level security, written by the platform.
        ('webhook_delivery_attempts SELECT'),
        ('webhook_endpoints DELETE'),
        ('webhook_endpoints INSERT (organization_id, url, events, secret_ciphertext)'),
        ('webhook_endpoints SELECT (id, organization_id, url, events, enabled, disabled_reason, failing_since, created_at, updated_at)'),
        ('webhook_endpoints UPDATE (url, events, enabled)')
    $$,
    'authenticated holds exactly the reviewed table privileges (row-level security then '
    'decides which rows)'
);

select * from finish();
rollback;
