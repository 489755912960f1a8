-- The trigram search indexes merge their pending lists in short steps: the insert that
-- passes the limit pays for the merge (20261207000500_inbox.sql).
begin;
select plan(2);

select is(
    (select c.reloptions from pg_class as c where c.oid = 'public.messages_body_search_idx'::regclass),
    array['gin_pending_list_limit=256'],
    'message bodies: a 256 kB pending list, fastupdate left on'
);

select is(
    (select c.reloptions from pg_class as c where c.oid = 'public.contacts_search_idx'::regclass),
    array['gin_pending_list_limit=256'],
    'contacts: a 256 kB pending list, fastupdate left on'
);

select * from finish();
rollback;
