-- clew SQLite schema, version 1.
-- Integer surrogate keys (`trace_pk`, `span_pk`) keep child rows and indexes small; the
-- public ids (`trace_id` = "tr-<hex>", span ids) are unique columns.

CREATE TABLE experiments (
    experiment_id     INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL UNIQUE,
    artifact_location TEXT    NOT NULL,
    lifecycle_stage   TEXT    NOT NULL DEFAULT 'active',
    creation_time     INTEGER NOT NULL,
    last_update_time  INTEGER NOT NULL
);

CREATE TABLE experiment_tags (
    experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    key           TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    PRIMARY KEY (experiment_id, key)
) WITHOUT ROWID;

-- MLflow clients expect experiment 0, "Default", to exist.
INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active',
        CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER));

-- One denormalised summary row per trace: list views and most filters need no join.
CREATE TABLE traces (
    trace_pk           INTEGER PRIMARY KEY,
    trace_id           TEXT    NOT NULL UNIQUE,
    experiment_id      INTEGER NOT NULL REFERENCES experiments (experiment_id),
    request_time       INTEGER NOT NULL,          -- ms since the epoch (timestamp_ms)
    execution_duration INTEGER,                   -- ms; NULL while unknown
    state              TEXT    NOT NULL,          -- OK | ERROR | IN_PROGRESS | STATE_UNSPECIFIED
    client_request_id  TEXT,
    request_preview    TEXT,
    response_preview   TEXT,
    name               TEXT,                      -- tag mlflow.traceName, else the root span's name
    session_id         TEXT,                      -- metadata mlflow.trace.session
    user_id            TEXT,                      -- metadata mlflow.trace.user
    input_tokens       INTEGER,
    output_tokens      INTEGER,
    total_tokens       INTEGER,
    span_count         INTEGER NOT NULL DEFAULT 0,
    -- 1 once StartTraceV3 (or a whole-trace write) set the info: span ingest then leaves
    -- times, state and previews alone.
    info_finalized     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX traces_by_experiment_time ON traces (experiment_id, request_time DESC, trace_id);
CREATE INDEX traces_by_time ON traces (request_time DESC, trace_id);
CREATE INDEX traces_by_client_request_id ON traces (client_request_id) WHERE client_request_id IS NOT NULL;
CREATE INDEX traces_by_session ON traces (session_id) WHERE session_id IS NOT NULL;

CREATE TABLE trace_tags (
    trace_pk INTEGER NOT NULL REFERENCES traces (trace_pk) ON DELETE CASCADE,
    key      TEXT    NOT NULL,
    value    TEXT    NOT NULL,
    PRIMARY KEY (trace_pk, key)
) WITHOUT ROWID;
CREATE INDEX trace_tags_by_key_value ON trace_tags (key, value);

CREATE TABLE trace_metadata (
    trace_pk INTEGER NOT NULL REFERENCES traces (trace_pk) ON DELETE CASCADE,
    key      TEXT    NOT NULL,
    value    TEXT    NOT NULL,
    PRIMARY KEY (trace_pk, key)
) WITHOUT ROWID;
CREATE INDEX trace_metadata_by_key_value ON trace_metadata (key, value);

-- Assessments as TraceInfo carries them (proto-JSON dicts), with the columns search needs.
CREATE TABLE assessments (
    trace_pk   INTEGER NOT NULL REFERENCES traces (trace_pk) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,                  -- feedback | expectation | other
    value_text TEXT,                              -- the value: a string as-is, else its JSON
    value_json TEXT,                              -- the value's JSON
    valid      INTEGER NOT NULL DEFAULT 1,
    payload    TEXT    NOT NULL,                  -- the whole assessment dict
    PRIMARY KEY (trace_pk, position)
) WITHOUT ROWID;
CREATE INDEX assessments_by_name ON assessments (kind, name);

CREATE TABLE spans (
    -- AUTOINCREMENT: keys only grow and are never reused, which the index watermark needs.
    span_pk        INTEGER PRIMARY KEY AUTOINCREMENT,
    trace_pk       INTEGER NOT NULL REFERENCES traces (trace_pk) ON DELETE CASCADE,
    span_id        INTEGER NOT NULL,              -- the 64-bit id's bits as a signed integer
    parent_span_id INTEGER,                       -- NULL for the root
    name           TEXT    NOT NULL,
    span_type      TEXT,
    status         TEXT    NOT NULL,              -- OK | ERROR | UNSET
    start_time_ns  INTEGER NOT NULL,
    end_time_ns    INTEGER,
    input_tokens   INTEGER,
    output_tokens  INTEGER,
    total_tokens   INTEGER,
    session_id     TEXT,
    user_id        TEXT,
    payload        BLOB    NOT NULL,              -- span JSON, see payload.rs for the encoding
    UNIQUE (trace_pk, span_id)
);
CREATE INDEX spans_by_name ON spans (name);
CREATE INDEX spans_by_type ON spans (span_type);
-- Recomputing a trace's summary after each span batch reads only these indexes (covering, or
-- partial and tiny), not the span rows: big traces arriving in small batches stay cheap.
CREATE INDEX spans_summary ON spans (trace_pk, start_time_ns, end_time_ns, input_tokens, output_tokens, total_tokens);
CREATE INDEX spans_roots ON spans (trace_pk, start_time_ns) WHERE parent_span_id IS NULL;
CREATE INDEX spans_with_session ON spans (trace_pk, start_time_ns) WHERE session_id IS NOT NULL;
CREATE INDEX spans_with_user ON spans (trace_pk, start_time_ns) WHERE user_id IS NOT NULL;

-- Substring search over span JSON (trace.text, span.content, span.attributes.*).
-- Contentless (the text lives compressed in spans.payload; rowid = spans.span_pk) and without
-- positions (detail=none): it answers "which spans contain all these trigrams", a superset
-- that search then checks exactly. A fraction of the size and write cost of a full index.
CREATE VIRTUAL TABLE spans_fts USING fts5 (
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'trigram',
    detail = none
);

-- Spans are indexed in the background, in key order: every span with
-- span_pk <= indexed_up_to is in spans_fts, every later one is not (search scans those).
-- Writes thus never wait for the index, and a burst is indexed when the writer is idle.
CREATE TABLE span_index_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_up_to INTEGER NOT NULL
);
INSERT INTO span_index_state (id, indexed_up_to) VALUES (1, 0);

-- Keep the index in step however an indexed span row goes away (re-send, trace delete).
CREATE TRIGGER spans_fts_delete AFTER DELETE ON spans
WHEN old.span_pk <= (SELECT indexed_up_to FROM span_index_state)
BEGIN
    DELETE FROM spans_fts WHERE rowid = old.span_pk;
END;
