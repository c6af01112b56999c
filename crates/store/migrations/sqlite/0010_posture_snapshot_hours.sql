-- Score history snapshots to the hour (issue 9). A snapshot lists every applicable device of its
-- initiative (~25 bytes each: ~2.5 MB at 100,000 devices), and a busy inventory changes every
-- minute: each series keeps the full snapshot of its newest row and of the last row of every
-- hour; the others keep their score and change with an empty snapshot and `kept` 0. Scores,
-- trends and changes stay exact; "the snapshot at a time" is the newest kept one before it.
ALTER TABLE posture_history ADD COLUMN kept BIGINT NOT NULL DEFAULT 1;
