-- The "at least one owner" check must see the changes of the statement that fired it.
--
-- 20261124000300_identity.sql declared the check and its trigger functions `stable`. A
-- stable function reads with the snapshot of the statement that called it, so when the
-- constraint triggers fire immediately (`set constraints all immediate`, which any
-- transaction may run) the check still sees the owner that was just deleted or demoted, and
-- lets the organization lose its last owner. Checked at commit (the default, deferred) it
-- happened to work. Volatile functions take a fresh snapshot per query and see the change
-- in both modes.
alter function private.assert_organization_has_owner(uuid) volatile;
alter function private.tg_memberships__keep_an_owner() volatile;
alter function private.tg_organizations__need_an_owner() volatile;
