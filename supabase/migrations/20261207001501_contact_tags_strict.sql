-- private.normalize_contact_tags answers null for null (STRICT), as update_contact_v1's
-- "null leaves the tags as they are" needs: it answered '{}' and an update that left the
-- tags out cleared them.
alter function private.normalize_contact_tags(text[]) strict;
