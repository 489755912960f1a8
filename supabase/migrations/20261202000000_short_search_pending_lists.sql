-- The trigram search indexes keep a short pending list, so that no webhook pays for
-- merging a long one (bench/ingest, issue 4).
--
-- A GIN index with fastupdate (the default, and the right choice here: without it every
-- insert updates the index's tree, measured slower, 20261124050000_team_inbox.sql) adds
-- new entries to a pending list and merges the list into the tree when it passes
-- gin_pending_list_limit (4 MB by default). The insert that passes the limit does the
-- whole merge, inside its own transaction. For messages' bodies that was every ~4,000
-- messages, and the merge took 50-60 ms: at 1,100 webhooks/s, every one of the four
-- merges of a 15 s run coincided with a stall of the ingest batch that did it (pending
-- list sampled with pgstatginindex), and the deliveries queued behind it made a good
-- part of the webhook's p99.
--
-- With 256 kB the merges are 16 times as frequent, each of a sixteenth of the entries.
-- Postgres' CPU per message did not change (0.33-0.35 ms at 4 MB, 512 kB and 128 kB
-- alike, serial batches of 8 with varied bodies), and autovacuum still empties the lists.
-- Contacts' index is updated less often (a contact's row is rewritten with each message
-- only when its update is not HOT) but merges the same way.

alter index public.messages_body_search_idx set (gin_pending_list_limit = 256);
alter index public.contacts_search_idx set (gin_pending_list_limit = 256);
