//! Read queries (and the statement helpers the writes share). Reads run in one
//! `REPEATABLE READ READ ONLY` transaction, so multi-statement reads see one snapshot.

use super::schema::pg_error;
use crate::ingest_rules::parse_experiment_id;
use super::Tx;
use crate::span_record::TokenUsage;
use crate::{payload, StoreError, StoreResult};
use clew_model::{keys, Experiment, Span, Trace, TraceData, TraceInfo, TraceLocation, TraceState};
use indexmap::IndexMap;
use std::collections::HashMap;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Runs a statement (prepared once per connection) and returns its rows.
pub(crate) async fn rows(tx: &Tx<'_>, sql: &str, params: Params<'_>) -> StoreResult<Vec<Row>> {
    let stmt = tx.prepare_cached(sql).await.map_err(pg_error)?;
    tx.query(&stmt, params).await.map_err(pg_error)
}

/// The first row, if any.
pub(crate) async fn opt_row(tx: &Tx<'_>, sql: &str, params: Params<'_>) -> StoreResult<Option<Row>> {
    Ok(rows(tx, sql, params).await?.into_iter().next())
}

/// Runs a statement and returns how many rows it changed.
pub(crate) async fn exec(tx: &Tx<'_>, sql: &str, params: Params<'_>) -> StoreResult<u64> {
    let stmt = tx.prepare_cached(sql).await.map_err(pg_error)?;
    tx.execute(&stmt, params).await.map_err(pg_error)
}

pub(crate) async fn find_trace_pk(tx: &Tx<'_>, trace_id: &str) -> StoreResult<Option<i64>> {
    Ok(opt_row(tx, "SELECT trace_pk FROM traces WHERE trace_id = $1", &[&trace_id]).await?.map(|r| r.get(0)))
}

/// Trace infos for `trace_pks`, in that order (keys with no row are skipped).
pub(crate) async fn load_infos(tx: &Tx<'_>, trace_pks: &[i64]) -> StoreResult<Vec<TraceInfo>> {
    let pks: Vec<i64> = trace_pks.to_vec();
    let mut infos: HashMap<i64, TraceInfo> = HashMap::with_capacity(pks.len());
    let mut token_columns: HashMap<i64, TokenUsage> = HashMap::new();
    let trace_rows = rows(
        tx,
        "SELECT trace_pk, trace_id, experiment_id, request_time, execution_duration, state, client_request_id,
                request_preview, response_preview, input_tokens, output_tokens, total_tokens
         FROM traces WHERE trace_pk = ANY($1)",
        &[&pks],
    )
    .await?;
    for r in trace_rows {
        let state: String = r.get(5);
        let info = TraceInfo {
            trace_id: r.get(1),
            client_request_id: r.get(6),
            trace_location: TraceLocation::experiment(r.get::<_, i64>(2).to_string()),
            request_time: r.get(3),
            state: state.parse().unwrap_or(TraceState::StateUnspecified),
            request_preview: r.get(7),
            response_preview: r.get(8),
            execution_duration: r.get(4),
            ..TraceInfo::default()
        };
        let pk: i64 = r.get(0);
        token_columns.insert(pk, TokenUsage { input_tokens: r.get(9), output_tokens: r.get(10), total_tokens: r.get(11) });
        infos.insert(pk, info);
    }
    for (table, is_tags) in [("trace_tags", true), ("trace_metadata", false)] {
        let sql = format!("SELECT trace_pk, key, value FROM {table} WHERE trace_pk = ANY($1) ORDER BY trace_pk, key");
        for r in rows(tx, &sql, &[&pks]).await? {
            if let Some(info) = infos.get_mut(&r.get::<_, i64>(0)) {
                let map = if is_tags { &mut info.tags } else { &mut info.trace_metadata };
                map.insert(r.get(1), r.get(2));
            }
        }
    }
    let assessment_rows = rows(
        tx,
        "SELECT trace_pk, payload FROM assessments WHERE trace_pk = ANY($1) ORDER BY trace_pk, position",
        &[&pks],
    )
    .await?;
    for r in assessment_rows {
        let payload: String = r.get(1);
        let value = serde_json::from_str(&payload)
            .map_err(|e| StoreError::Internal(format!("stored assessment is not JSON: {e}")))?;
        if let Some(info) = infos.get_mut(&r.get::<_, i64>(0)) {
            info.assessments.push(value);
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
pub(crate) async fn load_spans(tx: &Tx<'_>, trace_pk: i64) -> StoreResult<Vec<Span>> {
    let span_rows = rows(
        tx,
        "SELECT content FROM spans WHERE trace_pk = $1 ORDER BY parent_span_id IS NOT NULL, start_time_ns, span_pk",
        &[&trace_pk],
    )
    .await?;
    span_rows.iter().map(|r| payload::span_from_json(r.get::<_, &str>(0))).collect()
}

pub(crate) async fn load_trace(tx: &Tx<'_>, trace_id: &str) -> StoreResult<Option<Trace>> {
    let Some(trace_pk) = find_trace_pk(tx, trace_id).await? else { return Ok(None) };
    let Some(info) = load_infos(tx, &[trace_pk]).await?.pop() else { return Ok(None) };
    let spans = load_spans(tx, trace_pk).await?;
    Ok(Some(Trace { info, data: TraceData { spans } }))
}

/// MLflow calls a trace incomplete while fewer spans are stored than `mlflow.trace.sizeStats`
/// announces; `batchGet` leaves such traces out.
pub(crate) fn is_complete(trace: &Trace) -> bool {
    let expected = trace
        .info
        .trace_metadata
        .get(keys::SIZE_STATS)
        .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
        .and_then(|v| v.get("num_spans").and_then(serde_json::Value::as_i64));
    match expected {
        Some(expected) => i64::try_from(trace.data.spans.len()).unwrap_or(i64::MAX) >= expected,
        None => true,
    }
}

const EXPERIMENT_COLUMNS: &str = "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time";

async fn experiments_with_tags(tx: &Tx<'_>, experiment_rows: Vec<Row>) -> StoreResult<Vec<Experiment>> {
    let mut experiments: Vec<Experiment> = experiment_rows
        .iter()
        .map(|r| Experiment {
            experiment_id: r.get::<_, i64>(0).to_string(),
            name: r.get(1),
            artifact_location: r.get(2),
            lifecycle_stage: r.get(3),
            creation_time: r.get(4),
            last_update_time: r.get(5),
            tags: IndexMap::new(),
        })
        .collect();
    let ids: Vec<i64> = experiment_rows.iter().map(|r| r.get::<_, i64>(0)).collect();
    if ids.is_empty() {
        return Ok(experiments);
    }
    let tag_rows =
        rows(tx, "SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id = ANY($1) ORDER BY key", &[&ids])
            .await?;
    for r in tag_rows {
        let id = r.get::<_, i64>(0).to_string();
        if let Some(experiment) = experiments.iter_mut().find(|e| e.experiment_id == id) {
            experiment.tags.insert(r.get(1), r.get(2));
        }
    }
    Ok(experiments)
}

pub(crate) async fn get_experiment(tx: &Tx<'_>, experiment_id: &str) -> StoreResult<Option<Experiment>> {
    let Some(id) = parse_experiment_id(experiment_id) else { return Ok(None) };
    let sql = format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE experiment_id = $1");
    let found = rows(tx, &sql, &[&id]).await?;
    Ok(experiments_with_tags(tx, found).await?.pop())
}

pub(crate) async fn get_experiment_by_name(tx: &Tx<'_>, name: &str) -> StoreResult<Option<Experiment>> {
    let sql = format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE name = $1");
    let found = rows(tx, &sql, &[&name]).await?;
    Ok(experiments_with_tags(tx, found).await?.pop())
}

pub(crate) async fn list_experiments(tx: &Tx<'_>) -> StoreResult<Vec<Experiment>> {
    let sql = format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE lifecycle_stage = 'active' ORDER BY experiment_id");
    let found = rows(tx, &sql, &[]).await?;
    experiments_with_tags(tx, found).await
}
