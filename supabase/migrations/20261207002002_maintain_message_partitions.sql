-- The upkeep of public.messages' partitions (20261207002000_messages_partitioned), one
-- function the job conversations:maintain_message_partitions calls every day
-- (docs/operations.md, "Partitions of messages"). The partitions are contiguous:
-- messages_before [MINVALUE, first month), one per month, messages_after [month after
-- the last, MAXVALUE). The function keeps them so:
--
-- 1. Ahead: the current month's partition and the next `ahead` months' exist. Each new
--    month is split off the front of messages_after (detach it, move the rows of that
--    month it caught into the new partition, attach both), so messages_after normally
--    stays empty and an insert never finds no partition.
-- 2. Behind: the oldest monthly partitions entirely before the current month that are
--    empty (retention emptied them, or they never held anything) are detached and
--    dropped, oldest first, and messages_before grows over their range; it stops at the
--    first one holding a row (a month with a single message left is kept, whatever its
--    age: retention decides what goes, not this).
--
-- Each step detaches a partition, so it holds ACCESS EXCLUSIVE on public.messages for the
-- moment it takes on an empty table (DETACH PARTITION CONCURRENTLY cannot run inside a
-- function, nor in any transaction). It waits for that lock at most lock_timeout (2 s):
-- behind a long query on messages it gives up that step, reported as `busy`, and the
-- next run tries again, so a queue of readers never forms behind it for long.
create function private.message_partition_months()
returns table (partition_name text, month timestamp)
language sql
stable
security definer
set search_path = pg_catalog
as $$
    select c.relname::text, to_date(substr(c.relname, 10), 'YYYY_MM')::timestamp
    from pg_catalog.pg_inherits as i
    join pg_catalog.pg_class as c on c.oid = i.inhrelid
    join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
    where i.inhparent = 'public.messages'::regclass
      and n.nspname = 'partitions'
      and c.relname ~ '^messages_[0-9]{4}_[0-9]{2}$'
    order by 2
$$;

comment on function private.message_partition_months() is
    'public.messages'' monthly partitions (partitions.messages_YYYY_MM) and their months (UTC), oldest first.';

create function private.maintain_message_partitions(ahead integer default 3,
                                                    as_of timestamptz default now())
returns table (action text, partition_name text, row_count bigint)
language plpgsql
security definer
set search_path = pg_catalog
set lock_timeout = '2s'
as $$
declare
    this_month timestamp := date_trunc('month', as_of at time zone 'UTC');
    next_month timestamp;
    name text;
    moved bigint;
    old record;
    holds_rows boolean;
begin
    if ahead is null or ahead < 0 or ahead > 24 then
        raise exception 'ahead must be between 0 and 24 months, not %', ahead
            using errcode = 'invalid_parameter_value';
    end if;

    -- 1. Ahead.
    loop
        select m.month + interval '1 month' into next_month
        from private.message_partition_months() as m order by m.month desc limit 1;
        exit when next_month > this_month + make_interval(months => ahead);
        name := 'messages_' || to_char(next_month, 'YYYY_MM');
        begin
            alter table public.messages detach partition partitions.messages_after;
            execute format('create table partitions.%I (like public.messages'
                           ' including defaults including constraints)', name);
            execute format('with moved as (delete from partitions.messages_after'
                           ' where created_at < $1 returning *)'
                           ' insert into partitions.%I select * from moved', name)
            using (next_month + interval '1 month') at time zone 'UTC';
            get diagnostics moved = row_count;
            execute format('alter table public.messages attach partition partitions.%I'
                           ' for values from (%L) to (%L)', name,
                           next_month at time zone 'UTC',
                           (next_month + interval '1 month') at time zone 'UTC');
            execute format('alter table public.messages attach partition'
                           ' partitions.messages_after for values from (%L) to (maxvalue)',
                           (next_month + interval '1 month') at time zone 'UTC');
            return query select 'created'::text, name, moved;
        exception when lock_not_available then
            return query select 'busy'::text, name, null::bigint;
            exit;
        end;
    end loop;

    -- 2. Behind.
    for old in
        select m.partition_name as name, m.month from private.message_partition_months() as m
        where m.month + interval '1 month' <= this_month
        order by m.month
    loop
        execute format('select exists (select from partitions.%I)', old.name) into holds_rows;
        exit when holds_rows;
        begin
            execute format('alter table public.messages detach partition partitions.%I',
                           old.name);
            -- Detached under ACCESS EXCLUSIVE on messages: nothing wrote to it since.
            execute format('select exists (select from partitions.%I)', old.name)
            into holds_rows;
            if holds_rows then
                raise exception using errcode = 'object_in_use';
            end if;
            execute format('drop table partitions.%I', old.name);
            alter table public.messages detach partition partitions.messages_before;
            execute format('alter table public.messages attach partition'
                           ' partitions.messages_before for values from (minvalue) to (%L)',
                           (old.month + interval '1 month') at time zone 'UTC');
            return query select 'dropped'::text, old.name, 0::bigint;
        exception
            when lock_not_available then
                return query select 'busy'::text, old.name, null::bigint;
                exit;
            when object_in_use then
                exit;
        end;
    end loop;
end;
$$;

comment on function private.maintain_message_partitions(integer, timestamptz) is
    'The upkeep of public.messages'' monthly partitions (UTC months, as of as_of): makes this month''s and the next `ahead` months'', moving the rows messages_after caught into them; detaches and drops the oldest empty ones entirely before this month, messages_before taking over their range; returns what it did (created with the rows moved, dropped, busy).';

revoke all on function private.message_partition_months() from public;
grant execute on function private.message_partition_months() to service_role;
revoke all on function private.maintain_message_partitions(integer, timestamptz) from public;
grant execute on function private.maintain_message_partitions(integer, timestamptz)
    to service_role;
