-- SQLite's 0002 adds a covering index for free-text search. PostgreSQL gets none: a B-tree
-- entry is limited to ~2.7 KB and `search` grows with a device's names and addresses (a
-- hostile sensor could make it far longer), so such an index could make ingest fail; and a
-- sequential scan here reads the narrow heap tuples quickly (the JSON is TOASTed beyond 2 KB).
-- A trigram index (pg_trgm) would serve `LIKE '%text%'`, at the price of an extension that not
-- every server lets the console create. The version number stays in step with SQLite's.
SELECT 1;
