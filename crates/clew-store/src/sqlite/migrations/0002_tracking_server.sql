-- clew SQLite schema, version 2: what the tracking server needs beyond trace ingest.
-- Assessment CRUD, trace↔run links, minimal runs, artifacts as blobs, and (nothing else)
-- for experiments: rename/delete/restore use the version-1 columns.

-- Assessments created through the CRUD API are addressed by id. Assessments that arrived in a
-- TraceInfo keep the id their dict carries (if any).
ALTER TABLE assessments ADD COLUMN assessment_id TEXT;
-- (CASE, not AND: SQLite does not promise to skip json_type on a payload that is not JSON.)
UPDATE assessments SET assessment_id = json_extract(payload, '$.assessment_id')
WHERE CASE WHEN json_valid(payload) THEN json_type(payload, '$.assessment_id') = 'text' ELSE 0 END;
CREATE INDEX assessments_by_id ON assessments (trace_pk, assessment_id) WHERE assessment_id IS NOT NULL;
-- Issue references were stored as kind 'other'; `issue.id` search looks for kind 'issue'.
UPDATE assessments SET kind = 'issue'
WHERE kind = 'other' AND CASE WHEN json_valid(payload) THEN json_type(payload, '$.issue') = 'object' ELSE 0 END;

-- Runs: only what `mlflow.start_run()` and `search_traces(run_id=)` use.
CREATE TABLE runs (
    run_id          TEXT    PRIMARY KEY,          -- 32 lowercase hex digits
    experiment_id   INTEGER NOT NULL REFERENCES experiments (experiment_id),
    run_name        TEXT    NOT NULL,
    user_id         TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL,             -- RUNNING | SCHEDULED | FINISHED | FAILED | KILLED
    start_time      INTEGER NOT NULL,             -- ms since the epoch
    end_time        INTEGER,
    lifecycle_stage TEXT    NOT NULL DEFAULT 'active',
    artifact_uri    TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX runs_by_experiment ON runs (experiment_id);

CREATE TABLE run_tags (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

-- Traces linked to runs (MLflow's entity_associations, trace → run). Keyed by the public trace
-- id, not `trace_pk`: as in MLflow neither the trace nor the run has to exist yet (a link may
-- arrive before the trace it names, like spans before their info). Deleting a trace drops
-- its links. The `run_id = '...'` filter matches these as well as `mlflow.sourceRun`.
CREATE TABLE trace_run_links (
    trace_id TEXT NOT NULL,
    run_id   TEXT NOT NULL,
    PRIMARY KEY (trace_id, run_id)
) WITHOUT ROWID;
CREATE INDEX trace_run_links_by_run ON trace_run_links (run_id, trace_id);
CREATE TRIGGER traces_unlink_runs AFTER DELETE ON traces
BEGIN
    DELETE FROM trace_run_links WHERE trace_id = old.trace_id;
END;

-- Artifacts (`mlflow-artifacts:/<path>`) as blobs, so a server keeps no state outside the store.
-- Listing a directory is the key range [dir || '/', dir || '0'): byte order (SQLite's BINARY
-- collation; PostgreSQL needs COLLATE "C" on this column for the same ranges).
CREATE TABLE artifacts (
    path             TEXT    PRIMARY KEY,         -- relative, '/'-separated, no '.'/'..' segments
    size             INTEGER NOT NULL,
    content          BLOB    NOT NULL,
    last_update_time INTEGER NOT NULL
);

-- Trace counts per experiment for experiment lists, kept by triggers so reading one is O(1)
-- (COUNT(*) over the experiment index costs ~100 ms per million traces).
ALTER TABLE experiments ADD COLUMN trace_count INTEGER NOT NULL DEFAULT 0;
UPDATE experiments SET trace_count = (SELECT COUNT(*) FROM traces t WHERE t.experiment_id = experiments.experiment_id);
CREATE TRIGGER traces_count_insert AFTER INSERT ON traces
BEGIN
    UPDATE experiments SET trace_count = trace_count + 1 WHERE experiment_id = new.experiment_id;
END;
CREATE TRIGGER traces_count_delete AFTER DELETE ON traces
BEGIN
    UPDATE experiments SET trace_count = trace_count - 1 WHERE experiment_id = old.experiment_id;
END;
CREATE TRIGGER traces_count_move AFTER UPDATE OF experiment_id ON traces
WHEN old.experiment_id != new.experiment_id
BEGIN
    UPDATE experiments SET trace_count = trace_count - 1 WHERE experiment_id = old.experiment_id;
    UPDATE experiments SET trace_count = trace_count + 1 WHERE experiment_id = new.experiment_id;
END;
