//! Read queries, shared by the reader pool and the writer (which returns stored infos).

use super::schema::sqlite_error;
use crate::span_record::TokenUsage;
use crate::{payload, StoreError, StoreResult};
use clew_model::{keys, Experiment, Span, Trace, TraceData, TraceInfo, TraceLocation, TraceState};
use indexmap::IndexMap;
use rusqlite::types::ToSql;
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashMap;

/// Rows loaded per `IN (...)` list, well below SQLite's parameter limit.
const IN_LIST_CHUNK: usize = 500;

pub(crate) fn find_trace_pk(conn: &Connection, trace_id: &str) -> StoreResult<Option<i64>> {
    conn.prepare_cached("SELECT trace_pk FROM traces WHERE trace_id = ?1")
        .and_then(|mut stmt| stmt.query_row([trace_id], |r| r.get(0)).optional())
        .map_err(sqlite_error)
}

fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
}

/// Trace infos for `trace_pks`, in that order (keys with no row are skipped).
pub(crate) fn load_infos(conn: &Connection, trace_pks: &[i64]) -> StoreResult<Vec<TraceInfo>> {
    let mut infos: HashMap<i64, TraceInfo> = HashMap::with_capacity(trace_pks.len());
    let mut token_columns: HashMap<i64, TokenUsage> = HashMap::new();
    for chunk in trace_pks.chunks(IN_LIST_CHUNK) {
        let ids = placeholders(chunk.len());
        let args: Vec<&dyn ToSql> = chunk.iter().map(|pk| pk as &dyn ToSql).collect();

        let sql = format!(
            "SELECT trace_pk, trace_id, experiment_id, request_time, execution_duration, state, client_request_id,
                    request_preview, response_preview, input_tokens, output_tokens, total_tokens
             FROM traces WHERE trace_pk IN ({ids})"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(sqlite_error)?;
        let rows = stmt
            .query_map(args.as_slice(), |r| {
                let state: String = r.get(5)?;
                let info = TraceInfo {
                    trace_id: r.get(1)?,
                    client_request_id: r.get(6)?,
                    trace_location: TraceLocation::experiment(r.get::<_, i64>(2)?.to_string()),
                    request_time: r.get(3)?,
                    state: state.parse().unwrap_or(TraceState::StateUnspecified),
                    request_preview: r.get(7)?,
                    response_preview: r.get(8)?,
                    execution_duration: r.get(4)?,
                    ..TraceInfo::default()
                };
                let tokens = TokenUsage { input_tokens: r.get(9)?, output_tokens: r.get(10)?, total_tokens: r.get(11)? };
                Ok((r.get::<_, i64>(0)?, info, tokens))
            })
            .map_err(sqlite_error)?;
        for row in rows {
            let (pk, info, tokens) = row.map_err(sqlite_error)?;
            infos.insert(pk, info);
            token_columns.insert(pk, tokens);
        }

        for (table, is_tags) in [("trace_tags", true), ("trace_metadata", false)] {
            let sql = format!("SELECT trace_pk, key, value FROM {table} WHERE trace_pk IN ({ids}) ORDER BY trace_pk, key");
            let mut stmt = conn.prepare_cached(&sql).map_err(sqlite_error)?;
            let rows = stmt
                .query_map(args.as_slice(), |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
                .map_err(sqlite_error)?;
            for row in rows {
                let (pk, key, value) = row.map_err(sqlite_error)?;
                if let Some(info) = infos.get_mut(&pk) {
                    let map = if is_tags { &mut info.tags } else { &mut info.trace_metadata };
                    map.insert(key, value);
                }
            }
        }

        let sql = format!("SELECT trace_pk, payload FROM assessments WHERE trace_pk IN ({ids}) ORDER BY trace_pk, position");
        let mut stmt = conn.prepare_cached(&sql).map_err(sqlite_error)?;
        let rows = stmt
            .query_map(args.as_slice(), |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(sqlite_error)?;
        for row in rows {
            let (pk, payload) = row.map_err(sqlite_error)?;
            let value = serde_json::from_str(&payload)
                .map_err(|e| StoreError::Internal(format!("stored assessment is not JSON: {e}")))?;
            if let Some(info) = infos.get_mut(&pk) {
                info.assessments.push(value);
            }
        }
    }
    // Token usage summed from spans shows as `mlflow.trace.tokenUsage` when the client sent none.
    for (pk, tokens) in token_columns {
        if tokens == TokenUsage::default() {
            continue;
        }
        if let Some(info) = infos.get_mut(&pk) {
            if !info.trace_metadata.contains_key(keys::TOKEN_USAGE) {
                info.trace_metadata.insert(keys::TOKEN_USAGE.to_string(), tokens.to_json_text());
            }
        }
    }
    Ok(trace_pks.iter().filter_map(|pk| infos.remove(pk)).collect())
}

/// The spans of a trace: root first, then by start time.
pub(crate) fn load_spans(conn: &Connection, trace_pk: i64) -> StoreResult<Vec<Span>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT payload FROM spans WHERE trace_pk = ?1
             ORDER BY parent_span_id IS NOT NULL, start_time_ns, span_pk",
        )
        .map_err(sqlite_error)?;
    let blobs = stmt
        .query_map([trace_pk], |r| r.get::<_, Vec<u8>>(0))
        .map_err(sqlite_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlite_error)?;
    blobs.iter().map(|blob| payload::span_from_json(&payload::decode(blob)?)).collect()
}

pub(crate) fn span_count(conn: &Connection, trace_pk: i64) -> StoreResult<i64> {
    conn.prepare_cached("SELECT span_count FROM traces WHERE trace_pk = ?1")
        .and_then(|mut stmt| stmt.query_row([trace_pk], |r| r.get(0)))
        .map_err(sqlite_error)
}

pub(crate) fn load_trace(conn: &Connection, trace_id: &str) -> StoreResult<Option<Trace>> {
    let Some(trace_pk) = find_trace_pk(conn, trace_id)? else { return Ok(None) };
    let Some(info) = load_infos(conn, &[trace_pk])?.pop() else { return Ok(None) };
    let spans = load_spans(conn, trace_pk)?;
    Ok(Some(Trace { info, data: TraceData { spans } }))
}

/// MLflow calls a trace incomplete while fewer spans are stored than `mlflow.trace.sizeStats`
/// announces; `batchGet` leaves such traces out.
pub(crate) fn is_complete(conn: &Connection, trace_id: &str, info: &TraceInfo) -> StoreResult<bool> {
    let expected = info
        .trace_metadata
        .get(keys::SIZE_STATS)
        .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
        .and_then(|v| v.get("num_spans").and_then(serde_json::Value::as_i64));
    let Some(expected) = expected else { return Ok(true) };
    let Some(trace_pk) = find_trace_pk(conn, trace_id)? else { return Ok(false) };
    Ok(span_count(conn, trace_pk)? >= expected)
}

fn experiment_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Experiment> {
    Ok(Experiment {
        experiment_id: r.get::<_, i64>(0)?.to_string(),
        name: r.get(1)?,
        artifact_location: r.get(2)?,
        lifecycle_stage: r.get(3)?,
        creation_time: r.get(4)?,
        last_update_time: r.get(5)?,
        tags: IndexMap::new(),
    })
}

const EXPERIMENT_COLUMNS: &str =
    "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time";

fn with_tags(conn: &Connection, mut experiment: Experiment) -> StoreResult<Experiment> {
    let id: i64 = experiment.experiment_id.parse().unwrap_or(-1);
    let mut stmt = conn
        .prepare_cached("SELECT key, value FROM experiment_tags WHERE experiment_id = ?1 ORDER BY key")
        .map_err(sqlite_error)?;
    let rows = stmt.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(sqlite_error)?;
    for row in rows {
        let (k, v) = row.map_err(sqlite_error)?;
        experiment.tags.insert(k, v);
    }
    Ok(experiment)
}

pub(crate) fn get_experiment(conn: &Connection, experiment_id: &str) -> StoreResult<Option<Experiment>> {
    let Some(id) = crate::ingest_rules::parse_experiment_id(experiment_id) else { return Ok(None) };
    let sql = format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE experiment_id = ?1");
    let found = conn
        .prepare_cached(&sql)
        .and_then(|mut stmt| stmt.query_row([id], experiment_from_row).optional())
        .map_err(sqlite_error)?;
    found.map(|e| with_tags(conn, e)).transpose()
}

pub(crate) fn get_experiment_by_name(conn: &Connection, name: &str) -> StoreResult<Option<Experiment>> {
    let sql = format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE name = ?1");
    let found = conn
        .prepare_cached(&sql)
        .and_then(|mut stmt| stmt.query_row([name], experiment_from_row).optional())
        .map_err(sqlite_error)?;
    found.map(|e| with_tags(conn, e)).transpose()
}

pub(crate) fn list_experiments(conn: &Connection) -> StoreResult<Vec<Experiment>> {
    let sql = format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE lifecycle_stage = 'active' ORDER BY experiment_id");
    let mut stmt = conn.prepare_cached(&sql).map_err(sqlite_error)?;
    let experiments = stmt
        .query_map([], experiment_from_row)
        .map_err(sqlite_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlite_error)?;
    experiments.into_iter().map(|e| with_tags(conn, e)).collect()
}
