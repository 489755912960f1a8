-- Knowledge passages keep their embeddings in the row.
--
-- A 768-dimension vector is 3 KB: past the 2 KB a row may have before Postgres moves its
-- largest values out of line (TOAST), so every distance the search computes first fetched
-- the vector from the TOAST table. At 100,000 passages that made the vector leg of a
-- search 10 ms of its 13 (1,000 passages of one organization); kept in the row (MAIN:
-- compressed if it helps, which for floats it does not, and moved out only past 8 KB),
-- it takes 1.4 ms. The text columns, EXTENDED, still go out of line first when a row
-- grows past toast_tuple_target.
alter table public.knowledge_passages alter column embedding set storage main;
alter table public.knowledge_passages set (toast_tuple_target = 8160);
