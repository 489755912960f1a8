-- Local data for `make dev` and `atende db reset`. Idempotent: loaded on every `atende dev`.
-- Never applied to production (the Supabase CLI applies it only to local databases).
select 1;
