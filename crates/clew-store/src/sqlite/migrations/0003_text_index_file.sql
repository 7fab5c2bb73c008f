-- clew SQLite schema, version 3: the span text index moves to a file of its own.
--
-- The trigram index (FTS5) cost the single writer thread as much CPU per span as storing the
-- span, and under sustained ingest the two competed for that one thread and its page cache.
-- It now lives in `<database>-fts`, kept by a thread of its own (see sqlite/text_index.rs):
-- a derived file that is rebuilt from the spans when missing or not this store's.

DROP TRIGGER IF EXISTS spans_fts_delete;
DROP TABLE IF EXISTS spans_fts;
DROP TABLE IF EXISTS span_index_state;

-- Which store an index file belongs to: an index beside a different (or replaced) database is
-- rebuilt rather than trusted.
CREATE TABLE store_identity (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    store_id TEXT    NOT NULL
);
INSERT INTO store_identity (id, store_id) VALUES (1, lower(hex(randomblob(16))));

-- The traces of span rows that went away (a re-sent span replaces its row; trace deletes),
-- in order, so the index thread can drop the documents of traces that are gone. Pruned once
-- the index has applied them.
CREATE TABLE span_deletions (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    trace_pk INTEGER NOT NULL
);
CREATE TRIGGER spans_log_deletion AFTER DELETE ON spans
BEGIN
    INSERT INTO span_deletions (trace_pk) VALUES (old.trace_pk);
END;
