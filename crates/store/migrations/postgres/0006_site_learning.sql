-- Per-site learning mode (issue 7): a site learns until `learning_until` (nanoseconds since the
-- epoch; NULL: it never learned). While it learns, policy alerts arriving at ingest become
-- baseline entries (created_by 'learning'), counted in `learned`. `baseline_version` grows with
-- every change to the site's baseline entries, so that sensors know when to fetch them again.

ALTER TABLE sites ADD COLUMN learning_until BIGINT;
ALTER TABLE sites ADD COLUMN learned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sites ADD COLUMN baseline_version BIGINT NOT NULL DEFAULT 0;
