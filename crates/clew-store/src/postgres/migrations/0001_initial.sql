-- clew PostgreSQL schema, version 1: the SQLite schema's shape (see ../../sqlite/migrations).
-- Text compared or sorted by search is COLLATE "C" (byte order, as SQLite's BINARY), so
-- results do not depend on the server's locale.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE SEQUENCE experiments_id_seq START WITH 1;

CREATE TABLE experiments (
    experiment_id     BIGINT PRIMARY KEY,
    name              TEXT   NOT NULL UNIQUE,
    artifact_location TEXT   NOT NULL,
    lifecycle_stage   TEXT   NOT NULL DEFAULT 'active',
    creation_time     BIGINT NOT NULL,
    last_update_time  BIGINT NOT NULL
);

CREATE TABLE experiment_tags (
    experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    key           TEXT   NOT NULL,
    value         TEXT   NOT NULL,
    PRIMARY KEY (experiment_id, key)
);

-- MLflow clients expect experiment 0, "Default", to exist.
INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active',
        (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT);

-- One denormalised summary row per trace: list views and most filters need no join.
CREATE TABLE traces (
    trace_pk           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trace_id           TEXT COLLATE "C" NOT NULL UNIQUE,
    experiment_id      BIGINT NOT NULL REFERENCES experiments (experiment_id),
    request_time       BIGINT NOT NULL,
    execution_duration BIGINT,
    state              TEXT COLLATE "C" NOT NULL,
    client_request_id  TEXT COLLATE "C",
    request_preview    TEXT,
    response_preview   TEXT,
    name               TEXT COLLATE "C",
    session_id         TEXT COLLATE "C",
    user_id            TEXT COLLATE "C",
    input_tokens       BIGINT,
    output_tokens      BIGINT,
    total_tokens       BIGINT,
    span_count         BIGINT  NOT NULL DEFAULT 0,
    info_finalized     BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX traces_by_experiment_time ON traces (experiment_id, request_time DESC, trace_id);
CREATE INDEX traces_by_time ON traces (request_time DESC, trace_id);
CREATE INDEX traces_by_client_request_id ON traces (client_request_id) WHERE client_request_id IS NOT NULL;
CREATE INDEX traces_by_session ON traces (session_id) WHERE session_id IS NOT NULL;

CREATE TABLE trace_tags (
    trace_pk BIGINT NOT NULL REFERENCES traces (trace_pk) ON DELETE CASCADE,
    key      TEXT COLLATE "C" NOT NULL,
    value    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (trace_pk, key)
);
-- Search looks tags and metadata up per trace (the primary key); no (key, value) index, as
-- btree entries are size-limited and values are not.

CREATE TABLE trace_metadata (
    trace_pk BIGINT NOT NULL REFERENCES traces (trace_pk) ON DELETE CASCADE,
    key      TEXT COLLATE "C" NOT NULL,
    value    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (trace_pk, key)
);

CREATE TABLE assessments (
    trace_pk   BIGINT  NOT NULL REFERENCES traces (trace_pk) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL,
    value_text TEXT COLLATE "C",
    value_json TEXT COLLATE "C",
    valid      INTEGER NOT NULL DEFAULT 1,     -- 1/0 like SQLite: the search compiler writes `valid = 1`
    payload    TEXT    NOT NULL,
    -- Assessments created through the CRUD API are addressed by id; those that arrived in a
    -- TraceInfo keep the id their dict carries (if any).
    assessment_id TEXT COLLATE "C",
    PRIMARY KEY (trace_pk, position)
);
CREATE INDEX assessments_by_name ON assessments (kind, name);
CREATE INDEX assessments_by_id ON assessments (trace_pk, assessment_id) WHERE assessment_id IS NOT NULL;

CREATE TABLE spans (
    span_pk        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trace_pk       BIGINT NOT NULL REFERENCES traces (trace_pk) ON DELETE CASCADE,
    span_id        BIGINT NOT NULL,
    parent_span_id BIGINT,
    name           TEXT COLLATE "C" NOT NULL,
    span_type      TEXT COLLATE "C",
    status         TEXT COLLATE "C" NOT NULL,
    start_time_ns  BIGINT NOT NULL,
    end_time_ns    BIGINT,
    input_tokens   BIGINT,
    output_tokens  BIGINT,
    total_tokens   BIGINT,
    session_id     TEXT,
    user_id        TEXT,
    -- The MLflow span JSON, as text: PostgreSQL compresses it (TOAST) and pg_trgm indexes it.
    content        TEXT NOT NULL,
    UNIQUE (trace_pk, span_id)
);
CREATE INDEX spans_by_name ON spans (name);
CREATE INDEX spans_by_type ON spans (span_type);
CREATE INDEX spans_summary ON spans (trace_pk, start_time_ns, end_time_ns, input_tokens, output_tokens, total_tokens);
CREATE INDEX spans_roots ON spans (trace_pk, start_time_ns) WHERE parent_span_id IS NULL;
CREATE INDEX spans_with_session ON spans (trace_pk, start_time_ns) WHERE session_id IS NOT NULL;
CREATE INDEX spans_with_user ON spans (trace_pk, start_time_ns) WHERE user_id IS NOT NULL;
-- Substring search (trace.text, span.content, span.attributes.*): trigram GIN index over the
-- span JSON; LIKE/ILIKE use it directly, the planner rechecks the exact pattern.
CREATE INDEX spans_content_trgm ON spans USING gin (content gin_trgm_ops);

-- The raw text of span attribute `key` (attribute values are JSON text), NULL when absent.
CREATE FUNCTION clew_span_attr(content TEXT, key TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT content::jsonb -> 'attributes' ->> key $$;

-- The string a JSON string literal stands for; NULL for anything else (never an error).
CREATE FUNCTION clew_json_string(value TEXT) RETURNS TEXT
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    IF value IS NULL OR value !~ '^\s*"' THEN
        RETURN NULL;
    END IF;
    RETURN value::jsonb #>> '{}';
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

-- `value` parsed as JSON when it is a JSON array, else an empty array (never an error).
CREATE FUNCTION clew_json_array(value TEXT) RETURNS JSONB
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    parsed JSONB;
BEGIN
    parsed := value::jsonb;
    IF jsonb_typeof(parsed) = 'array' THEN
        RETURN parsed;
    END IF;
    RETURN '[]'::jsonb;
EXCEPTION WHEN others THEN
    RETURN '[]'::jsonb;
END
$$;

-- Runs: only what `mlflow.start_run()` and `search_traces(run_id=)` use.
CREATE TABLE runs (
    run_id          TEXT COLLATE "C" PRIMARY KEY,   -- 32 lowercase hex digits
    experiment_id   BIGINT NOT NULL REFERENCES experiments (experiment_id),
    run_name        TEXT   NOT NULL,
    user_id         TEXT   NOT NULL DEFAULT '',
    status          TEXT   NOT NULL,                -- RUNNING | SCHEDULED | FINISHED | FAILED | KILLED
    start_time      BIGINT NOT NULL,
    end_time        BIGINT,
    lifecycle_stage TEXT   NOT NULL DEFAULT 'active',
    artifact_uri    TEXT   NOT NULL
);
CREATE INDEX runs_by_experiment ON runs (experiment_id);

CREATE TABLE run_tags (
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

-- Traces linked to runs (MLflow's entity associations), keyed by the public trace id: neither
-- the trace nor the run has to exist yet. Deleting a trace drops its links (trigger below).
CREATE TABLE trace_run_links (
    trace_id TEXT COLLATE "C" NOT NULL,
    run_id   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (trace_id, run_id)
);
CREATE INDEX trace_run_links_by_run ON trace_run_links (run_id, trace_id);

CREATE FUNCTION clew_traces_unlink_runs() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM trace_run_links WHERE trace_id = OLD.trace_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER traces_unlink_runs AFTER DELETE ON traces
FOR EACH ROW EXECUTE FUNCTION clew_traces_unlink_runs();

-- Artifacts (`mlflow-artifacts:/<path>`) as blobs. COLLATE "C": listing a directory is the
-- byte-order key range [dir || '/', dir || '0').
CREATE TABLE artifacts (
    path             TEXT COLLATE "C" PRIMARY KEY,
    size             BIGINT NOT NULL,
    content          BYTEA  NOT NULL,
    last_update_time BIGINT NOT NULL
);

-- No per-experiment trace counter (SQLite keeps one by triggers): on PostgreSQL concurrent
-- ingest from many replicas would queue on the experiment row; the count is an index-only
-- scan of traces_by_experiment_time instead.
