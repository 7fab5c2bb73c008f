//! Write operations. Each runs on the writer thread inside the open transaction.
//!
//! Convergence: whatever order spans and the final info arrive in, and however often, the
//! stored trace ends the same. Span-derived summary fields are recomputed from the stored
//! span rows (never accumulated), and fields the client finalised win over derived ones.

use crate::ingest_rules::{assessment_columns, parse_experiment_id, plan_assessment_merge, trace_artifact_location, validate_info};
use super::read_ops;
use super::schema::sqlite_error;
use crate::span_record::{request_preview as derive_request_preview, response_preview as derive_response_preview, SpanRecord, TokenUsage};
use crate::{payload, DeleteTraces, StoreError, StoreResult};
use clew_model::{keys, TraceInfo};
use indexmap::IndexMap;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;


fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn create_experiment(conn: &Connection, name: &str, artifact_location: Option<&str>) -> StoreResult<String> {
    if name.trim().is_empty() {
        return Err(StoreError::InvalidArgument("experiment name must not be empty".into()));
    }
    let taken: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM experiments WHERE name = ?1)", [name], |r| r.get(0))
        .map_err(sqlite_error)?;
    if taken {
        return Err(StoreError::AlreadyExists(format!("experiment {name:?} already exists")));
    }
    let next_id: i64 = conn
        .query_row("SELECT COALESCE(MAX(experiment_id), 0) + 1 FROM experiments", [], |r| r.get(0))
        .map_err(sqlite_error)?;
    let location = match artifact_location.filter(|l| !l.is_empty()) {
        Some(l) => l.to_string(),
        None => format!("mlflow-artifacts:/{next_id}"),
    };
    let now = now_ms();
    conn.execute(
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
         VALUES (?1, ?2, ?3, 'active', ?4, ?4)",
        params![next_id, name, location, now],
    )
    .map_err(sqlite_error)?;
    Ok(next_id.to_string())
}

/// The experiment's key and artifact location; `NotFound` when it does not exist.
fn experiment_row(conn: &Connection, experiment_id: &str) -> StoreResult<(i64, String)> {
    let not_found = || StoreError::NotFound(format!("experiment {experiment_id:?} does not exist"));
    let id = parse_experiment_id(experiment_id).ok_or_else(not_found)?;
    conn.prepare_cached("SELECT artifact_location FROM experiments WHERE experiment_id = ?1")
        .and_then(|mut stmt| stmt.query_row([id], |r| r.get::<_, String>(0)).optional())
        .map_err(sqlite_error)?
        .map(|location| (id, location))
        .ok_or_else(not_found)
}


fn find_trace_pk(conn: &Connection, trace_id: &str) -> StoreResult<Option<i64>> {
    read_ops::find_trace_pk(conn, trace_id)
}

fn upsert_key_value(conn: &Connection, table: &str, trace_pk: i64, key: &str, value: &str) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO {table} (trace_pk, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (trace_pk, key) DO UPDATE SET value = excluded.value"
    );
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| stmt.execute(params![trace_pk, key, value]))
        .map_err(sqlite_error)?;
    Ok(())
}

fn insert_key_value_if_absent(conn: &Connection, table: &str, trace_pk: i64, key: &str, value: &str) -> StoreResult<()> {
    let sql = format!("INSERT OR IGNORE INTO {table} (trace_pk, key, value) VALUES (?1, ?2, ?3)");
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| stmt.execute(params![trace_pk, key, value]))
        .map_err(sqlite_error)?;
    Ok(())
}

/// The trace row spans belong to, created (IN_PROGRESS) when spans arrive first.
fn ensure_trace_for_spans(
    conn: &Connection,
    trace_id: &str,
    experiment: &(i64, String),
    first_start_ns: i64,
) -> StoreResult<i64> {
    if let Some(pk) = find_trace_pk(conn, trace_id)? {
        return Ok(pk);
    }
    let pk: i64 = conn
        .prepare_cached(
            "INSERT INTO traces (trace_id, experiment_id, request_time, state) VALUES (?1, ?2, ?3, 'IN_PROGRESS')
             RETURNING trace_pk",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![trace_id, experiment.0, first_start_ns.div_euclid(1_000_000)], |r| r.get(0))
        })
        .map_err(sqlite_error)?;
    insert_key_value_if_absent(
        conn,
        "trace_tags",
        pk,
        keys::ARTIFACT_LOCATION,
        &trace_artifact_location(&experiment.1, trace_id),
    )?;
    Ok(pk)
}

fn upsert_span(conn: &Connection, trace_pk: i64, record: &SpanRecord) -> StoreResult<()> {
    // A re-sent span replaces the stored row with a new one: a new key puts it past the index
    // watermark, so it is (re)indexed like any new span, and the trigger drops its old entry.
    conn.prepare_cached("DELETE FROM spans WHERE trace_pk = ?1 AND span_id = ?2")
        .and_then(|mut stmt| stmt.execute(params![trace_pk, record.span_id]))
        .map_err(sqlite_error)?;
    insert_span(conn, trace_pk, record)
}

/// Inserts a span row; the trace must not hold a span with its id.
fn insert_span(conn: &Connection, trace_pk: i64, record: &SpanRecord) -> StoreResult<()> {
    let usage = record.token_usage.unwrap_or_default();
    conn.prepare_cached(
        "INSERT INTO spans (trace_pk, span_id, parent_span_id, name, span_type, status, start_time_ns,
                            end_time_ns, input_tokens, output_tokens, total_tokens, session_id, user_id, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            trace_pk,
            record.span_id,
            record.parent_span_id,
            record.name,
            record.span_type,
            record.status,
            record.start_time_ns,
            record.end_time_ns,
            usage.input_tokens,
            usage.output_tokens,
            usage.total_tokens,
            record.session_id,
            record.user_id,
            record.payload,
        ])
    })
    .map_err(sqlite_error)?;
    Ok(())
}

/// Writes the span-derived fields of a summary row; fields the client finalised keep their
/// values, and stored previews win over the derived ones (?12, ?13).
const UPDATE_SUMMARY: &str = "UPDATE traces SET
         span_count = ?2, name = ?3, session_id = ?4, user_id = ?5,
         input_tokens = ?6, output_tokens = ?7, total_tokens = ?8,
         request_time = CASE WHEN info_finalized THEN request_time ELSE COALESCE(?9, request_time) END,
         execution_duration = CASE WHEN info_finalized THEN execution_duration ELSE ?10 END,
         state = CASE WHEN info_finalized THEN state ELSE COALESCE(?11, state) END,
         request_preview = CASE WHEN COALESCE(request_preview, '') = '' THEN ?12 ELSE request_preview END,
         response_preview = CASE WHEN COALESCE(response_preview, '') = '' THEN ?13 ELSE response_preview END
     WHERE trace_pk = ?1";

/// The span aggregates of one trace (a range of the `(trace_pk, ...)` index: with STAT4
/// samples its plan depends on the bound key, see `writer::configure_connection`).
const AGGREGATE_SPANS: &str = "SELECT COUNT(*), MIN(start_time_ns), MAX(end_time_ns), SUM(input_tokens),
    SUM(output_tokens), SUM(total_tokens) FROM spans WHERE trace_pk = ?1";

/// Recomputes the span-derived fields of the summary row from what is stored.
fn refresh_trace(conn: &Connection, trace_pk: i64) -> StoreResult<()> {
    struct Aggregate {
        span_count: i64,
        min_start_ns: Option<i64>,
        max_end_ns: Option<i64>,
        tokens: TokenUsage,
    }
    let aggregate = conn
        .prepare_cached(AGGREGATE_SPANS)
        .and_then(|mut stmt| {
            stmt.query_row([trace_pk], |r| {
                Ok(Aggregate {
                    span_count: r.get(0)?,
                    min_start_ns: r.get(1)?,
                    max_end_ns: r.get(2)?,
                    tokens: TokenUsage { input_tokens: r.get(3)?, output_tokens: r.get(4)?, total_tokens: r.get(5)? },
                })
            })
        })
        .map_err(sqlite_error)?;

    // The first session/user id seen on a span becomes trace metadata unless already set.
    for (column, key) in [("session_id", keys::TRACE_SESSION), ("user_id", keys::TRACE_USER)] {
        let already_set: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM trace_metadata WHERE trace_pk = ?1 AND key = ?2)")
            .and_then(|mut stmt| stmt.query_row(params![trace_pk, key], |r| r.get(0)))
            .map_err(sqlite_error)?;
        if already_set {
            continue;
        }
        let sql = format!(
            "SELECT {column} FROM spans WHERE trace_pk = ?1 AND {column} IS NOT NULL
             ORDER BY start_time_ns, span_id LIMIT 1"
        );
        let value: Option<String> = conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| stmt.query_row([trace_pk], |r| r.get(0)).optional())
            .map_err(sqlite_error)?;
        if let Some(value) = value {
            insert_key_value_if_absent(conn, "trace_metadata", trace_pk, key, &value)?;
        }
    }

    let (finalized, request_preview, response_preview): (bool, Option<String>, Option<String>) = conn
        .prepare_cached("SELECT info_finalized, request_preview, response_preview FROM traces WHERE trace_pk = ?1")
        .and_then(|mut stmt| stmt.query_row([trace_pk], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
        .map_err(sqlite_error)?;

    let root: Option<(String, String, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT name, status, payload FROM spans WHERE trace_pk = ?1 AND parent_span_id IS NULL
             ORDER BY start_time_ns, span_id LIMIT 1",
        )
        .and_then(|mut stmt| stmt.query_row([trace_pk], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional())
        .map_err(sqlite_error)?;

    let is_empty = |p: &Option<String>| p.as_deref().is_none_or(str::is_empty);
    let (mut new_request_preview, mut new_response_preview) = (None, None);
    if let Some((_, _, blob)) = &root {
        if is_empty(&request_preview) || is_empty(&response_preview) {
            let span = payload::span_from_json(&payload::decode(blob)?)?;
            let raw = |key: &str| span.attributes.get(key).filter(|v| !v.is_empty()).cloned();
            if is_empty(&request_preview) {
                new_request_preview = raw(keys::SPAN_INPUTS).map(|v| derive_request_preview(&v));
            }
            if is_empty(&response_preview) {
                new_response_preview = raw(keys::SPAN_OUTPUTS).map(|v| derive_response_preview(&v));
            }
        }
    }

    let tags_and_metadata: IndexMap<String, String> = conn
        .prepare_cached(
            "SELECT 'tag:' || key, value FROM trace_tags WHERE trace_pk = ?1 AND key = ?2
             UNION ALL
             SELECT 'meta:' || key, value FROM trace_metadata WHERE trace_pk = ?1 AND key IN (?3, ?4, ?5)",
        )
        .and_then(|mut stmt| {
            stmt.query_map(
                params![trace_pk, keys::TRACE_NAME, keys::TRACE_SESSION, keys::TRACE_USER, keys::TOKEN_USAGE],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )?
            .collect()
        })
        .map_err(sqlite_error)?;
    let meta = |key: &str| tags_and_metadata.get(&format!("meta:{key}")).cloned();
    let name = tags_and_metadata
        .get(&format!("tag:{}", keys::TRACE_NAME))
        .cloned()
        .or_else(|| root.as_ref().map(|(name, _, _)| name.clone()));
    let tokens = meta(keys::TOKEN_USAGE)
        .and_then(|text| TokenUsage::from_json_text(&text))
        .unwrap_or(aggregate.tokens);

    // Fields StartTraceV3 finalises are derived from spans only until it arrives.
    let (request_time, duration, state) = if finalized {
        (None, None, None)
    } else {
        let request_time = aggregate.min_start_ns.map(|ns| ns.div_euclid(1_000_000));
        let duration = match (aggregate.min_start_ns, aggregate.max_end_ns) {
            (Some(start), Some(end)) if end >= start => Some((end - start) / 1_000_000),
            _ => None,
        };
        let state = match &root {
            Some((_, status, _)) if status == "ERROR" => "ERROR",
            Some(_) => "OK",
            None => "IN_PROGRESS",
        };
        (request_time, duration, Some(state))
    };

    conn.prepare_cached(UPDATE_SUMMARY)
    .and_then(|mut stmt| {
        stmt.execute(params![
            trace_pk,
            aggregate.span_count,
            name,
            meta(keys::TRACE_SESSION),
            meta(keys::TRACE_USER),
            tokens.input_tokens,
            tokens.output_tokens,
            tokens.total_tokens,
            request_time,
            duration,
            state,
            new_request_preview,
            new_response_preview,
        ])
    })
    .map_err(sqlite_error)?;
    Ok(())
}

/// `log_spans`: upserts spans, creating the traces they belong to.
pub(crate) fn log_spans(conn: &Connection, experiment_id: &str, spans: &[SpanRecord]) -> StoreResult<()> {
    let experiment = experiment_row(conn, experiment_id)?;
    let mut by_trace: IndexMap<&str, Vec<&SpanRecord>> = IndexMap::new();
    for record in spans {
        by_trace.entry(record.trace_id.as_str()).or_default().push(record);
    }
    for (trace_id, records) in by_trace {
        if find_trace_pk(conn, trace_id)?.is_none() {
            // The common case (a whole trace in one batch, or its first spans): nothing is
            // stored for it yet, so its summary follows from these records alone.
            insert_new_trace(conn, trace_id, &experiment, &records)?;
            continue;
        }
        let first_start = records.iter().map(|r| r.start_time_ns).min().unwrap_or(0);
        let trace_pk = ensure_trace_for_spans(conn, trace_id, &experiment, first_start)?;
        for record in records {
            upsert_span(conn, trace_pk, record)?;
        }
        upsert_key_value(conn, "trace_tags", trace_pk, keys::SPANS_LOCATION, keys::SPANS_LOCATION_TRACKING_STORE)?;
        refresh_trace(conn, trace_pk)?;
    }
    Ok(())
}

/// What a trace's summary row derives from its spans, computed from records in memory: the
/// same values [`refresh_trace`] reads back from the span rows, for a trace whose stored spans
/// are exactly these records.
struct RecordSummary<'a> {
    /// The spans stored: a span sent twice keeps its last copy.
    spans: Vec<&'a SpanRecord>,
    min_start_ns: Option<i64>,
    duration: Option<i64>,
    root: Option<&'a SpanRecord>,
    state: &'static str,
    session: Option<&'a str>,
    user: Option<&'a str>,
    tokens: TokenUsage,
}

fn summarize<'a>(records: &[&'a SpanRecord]) -> RecordSummary<'a> {
    // A span sent twice in one batch: the last copy wins and takes the later place, as the
    // DELETE + INSERT of `upsert_span` would have it.
    let mut last_index: std::collections::HashMap<i64, usize> = std::collections::HashMap::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        last_index.insert(record.span_id, i);
    }
    let spans: Vec<&SpanRecord> =
        records.iter().enumerate().filter(|(i, r)| last_index[&r.span_id] == *i).map(|(_, r)| *r).collect();

    // SQL's MIN/MAX/SUM (NULLs ignored, NULL when nothing is left) and its `ORDER BY
    // start_time_ns, span_id LIMIT 1` (span ids compared as signed integers).
    let first_by_start = |keep: &dyn Fn(&SpanRecord) -> bool| {
        spans.iter().copied().filter(|r| keep(r)).min_by_key(|r| (r.start_time_ns, r.span_id))
    };
    let sum = |field: fn(&TokenUsage) -> Option<i64>| {
        spans.iter().filter_map(|r| r.token_usage.as_ref().and_then(field)).fold(None, |acc: Option<i64>, v| {
            Some(acc.unwrap_or(0).wrapping_add(v))
        })
    };
    let min_start_ns = spans.iter().map(|r| r.start_time_ns).min();
    let max_end_ns = spans.iter().filter_map(|r| r.end_time_ns).max();
    let duration = match (min_start_ns, max_end_ns) {
        (Some(start), Some(end)) if end >= start => Some((end - start) / 1_000_000),
        _ => None,
    };
    let root = first_by_start(&|r| r.parent_span_id.is_none());
    let state = match root {
        Some(root) if root.status == "ERROR" => "ERROR",
        Some(_) => "OK",
        None => "IN_PROGRESS",
    };
    let session = first_by_start(&|r| r.session_id.is_some()).and_then(|r| r.session_id.as_deref());
    let user = first_by_start(&|r| r.user_id.is_some()).and_then(|r| r.user_id.as_deref());
    let tokens = TokenUsage {
        input_tokens: sum(|u| u.input_tokens),
        output_tokens: sum(|u| u.output_tokens),
        total_tokens: sum(|u| u.total_tokens),
    };
    RecordSummary { spans, min_start_ns, duration, root, state, session, user, tokens }
}

/// Stores a trace that has no row yet, its summary computed from `records` in memory: the
/// same values [`refresh_trace`] would derive from the rows (it is what runs for every later
/// batch of the trace), without reading anything back. Saves the writer thread ~10 statements
/// and a span JSON parse per trace, and the per-span `DELETE` (no span of it can be stored).
fn insert_new_trace(
    conn: &Connection,
    trace_id: &str,
    experiment: &(i64, String),
    records: &[&SpanRecord],
) -> StoreResult<()> {
    let RecordSummary { spans, min_start_ns, duration, root, state, session, user, tokens } = summarize(records);
    let trace_pk: i64 = conn
        .prepare_cached(
            "INSERT INTO traces (trace_id, experiment_id, request_time, execution_duration, state, request_preview,
                                 response_preview, name, session_id, user_id, input_tokens, output_tokens,
                                 total_tokens, span_count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             RETURNING trace_pk",
        )
        .and_then(|mut stmt| {
            stmt.query_row(
                params![
                    trace_id,
                    experiment.0,
                    min_start_ns.unwrap_or(0).div_euclid(1_000_000),
                    duration,
                    state,
                    root.and_then(|r| r.request_preview.as_deref()),
                    root.and_then(|r| r.response_preview.as_deref()),
                    root.map(|r| r.name.as_str()),
                    session,
                    user,
                    tokens.input_tokens,
                    tokens.output_tokens,
                    tokens.total_tokens,
                    spans.len() as i64,
                ],
                |r| r.get(0),
            )
        })
        .map_err(sqlite_error)?;
    insert_key_value_if_absent(
        conn,
        "trace_tags",
        trace_pk,
        keys::ARTIFACT_LOCATION,
        &trace_artifact_location(&experiment.1, trace_id),
    )?;
    upsert_key_value(conn, "trace_tags", trace_pk, keys::SPANS_LOCATION, keys::SPANS_LOCATION_TRACKING_STORE)?;
    if let Some(session) = session {
        insert_key_value_if_absent(conn, "trace_metadata", trace_pk, keys::TRACE_SESSION, session)?;
    }
    if let Some(user) = user {
        insert_key_value_if_absent(conn, "trace_metadata", trace_pk, keys::TRACE_USER, user)?;
    }
    for record in spans {
        insert_span(conn, trace_pk, record)?;
    }
    Ok(())
}


/// Inserts or merges the final info; returns the trace's key, and whether its row is new.
fn upsert_info(conn: &Connection, info: &TraceInfo) -> StoreResult<(i64, bool)> {
    let experiment_id = validate_info(info)?;
    let experiment = experiment_row(conn, &experiment_id)?;
    let non_empty = |p: &Option<String>| p.clone().filter(|s| !s.is_empty());
    let (trace_pk, created) = match find_trace_pk(conn, &info.trace_id)? {
        None => (conn
            .prepare_cached(
                "INSERT INTO traces (trace_id, experiment_id, request_time, execution_duration, state,
                                     client_request_id, request_preview, response_preview, info_finalized)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1)
                 RETURNING trace_pk",
            )
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![
                        info.trace_id,
                        experiment.0,
                        info.request_time,
                        info.execution_duration,
                        info.state.as_str(),
                        info.client_request_id,
                        non_empty(&info.request_preview),
                        non_empty(&info.response_preview),
                    ],
                    |r| r.get(0),
                )
            })
            .map_err(sqlite_error)?, true),
        Some(pk) => {
            // The client's values win; stored previews stay when the client sends none.
            conn.prepare_cached(
                "UPDATE traces SET experiment_id = ?2, request_time = ?3, execution_duration = ?4, state = ?5,
                     client_request_id = COALESCE(?6, client_request_id),
                     request_preview = COALESCE(?7, request_preview),
                     response_preview = COALESCE(?8, response_preview),
                     info_finalized = 1
                 WHERE trace_pk = ?1",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    pk,
                    experiment.0,
                    info.request_time,
                    info.execution_duration,
                    info.state.as_str(),
                    info.client_request_id,
                    non_empty(&info.request_preview),
                    non_empty(&info.response_preview),
                ])
            })
            .map_err(sqlite_error)?;
            (pk, false)
        }
    };
    for (key, value) in &info.tags {
        if key == keys::ARTIFACT_LOCATION {
            continue; // server-set and immutable
        }
        upsert_key_value(conn, "trace_tags", trace_pk, key, value)?;
    }
    insert_key_value_if_absent(
        conn,
        "trace_tags",
        trace_pk,
        keys::ARTIFACT_LOCATION,
        &trace_artifact_location(&experiment.1, &info.trace_id),
    )?;
    for (key, value) in &info.trace_metadata {
        upsert_key_value(conn, "trace_metadata", trace_pk, key, value)?;
    }
    upsert_key_value(conn, "trace_metadata", trace_pk, keys::INFO_FINALIZED, "true")?;
    if !info.assessments.is_empty() {
        merge_assessments(conn, trace_pk, &info.assessments)?;
    }
    Ok((trace_pk, created))
}



/// Merges the assessments a TraceInfo carries into the stored ones, by `assessment_id`: an
/// incoming assessment replaces the stored one with its id (keeping its place); assessments
/// without an id replace the stored ones without an id; stored assessments with other ids
/// (e.g. created through the assessment API meanwhile) stay. Re-delivering the same info
/// therefore changes nothing.
fn merge_assessments(conn: &Connection, trace_pk: i64, assessments: &[Value]) -> StoreResult<()> {
    let stored: Vec<(i64, Option<String>)> = conn
        .prepare_cached("SELECT position, assessment_id FROM assessments WHERE trace_pk = ?1 ORDER BY position")
        .and_then(|mut stmt| stmt.query_map([trace_pk], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .map_err(sqlite_error)?;
    conn.prepare_cached("DELETE FROM assessments WHERE trace_pk = ?1 AND assessment_id IS NULL")
        .and_then(|mut stmt| stmt.execute([trace_pk]))
        .map_err(sqlite_error)?;
    for (position, id, assessment) in plan_assessment_merge(&stored, assessments) {
        upsert_assessment_row(conn, trace_pk, position, assessment, id.as_deref())?;
    }
    Ok(())
}

/// Writes one assessment dict at `position` of the trace (insert or replace), with the
/// columns search reads.
pub(crate) fn upsert_assessment_row(
    conn: &Connection,
    trace_pk: i64,
    position: i64,
    assessment: &Value,
    assessment_id: Option<&str>,
) -> StoreResult<()> {
    let columns = assessment_columns(assessment);
    conn.prepare_cached(
        "INSERT INTO assessments (trace_pk, position, name, kind, value_text, value_json, valid, payload, assessment_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (trace_pk, position) DO UPDATE SET
             name = excluded.name, kind = excluded.kind, value_text = excluded.value_text,
             value_json = excluded.value_json, valid = excluded.valid, payload = excluded.payload,
             assessment_id = excluded.assessment_id",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            trace_pk,
            position,
            columns.name,
            columns.kind,
            columns.value_text,
            columns.value_json,
            columns.valid,
            assessment.to_string(),
            assessment_id,
        ])
    })
    .map_err(sqlite_error)?;
    Ok(())
}

/// StartTraceV3: insert or merge the final info, return what is stored.
pub(crate) fn start_trace(conn: &Connection, info: &TraceInfo) -> StoreResult<TraceInfo> {
    let (trace_pk, _) = upsert_info(conn, info)?;
    refresh_trace(conn, trace_pk)?;
    read_ops::load_infos(conn, &[trace_pk])?
        .pop()
        .ok_or_else(|| StoreError::Internal(format!("trace {} vanished while being written", info.trace_id)))
}

/// A finished trace, info and spans together (the SDK's local destination).
pub(crate) fn write_trace(conn: &Connection, info: &TraceInfo, spans: &[SpanRecord]) -> StoreResult<()> {
    let (trace_pk, created) = upsert_info(conn, info)?;
    if created {
        return finish_new_trace(conn, trace_pk, info, spans);
    }
    for record in spans {
        upsert_span(conn, trace_pk, record)?;
    }
    if !spans.is_empty() {
        upsert_key_value(conn, "trace_tags", trace_pk, keys::SPANS_LOCATION, keys::SPANS_LOCATION_TRACKING_STORE)?;
    }
    refresh_trace(conn, trace_pk)
}

/// The rest of [`write_trace`] for a trace whose row `upsert_info` just created: no span of it
/// is stored, so the spans need no `DELETE` first, and the summary follows from `info` and
/// `spans` in memory — the values [`refresh_trace`] would read back (~10 statements and a
/// span JSON parse per trace), written with the same `UPDATE`.
fn finish_new_trace(conn: &Connection, trace_pk: i64, info: &TraceInfo, spans: &[SpanRecord]) -> StoreResult<()> {
    let records: Vec<&SpanRecord> = spans.iter().collect();
    let summary = summarize(&records);
    for record in &summary.spans {
        insert_span(conn, trace_pk, record)?;
    }
    if !spans.is_empty() {
        upsert_key_value(conn, "trace_tags", trace_pk, keys::SPANS_LOCATION, keys::SPANS_LOCATION_TRACKING_STORE)?;
    }
    // The first session/user id seen on a span becomes trace metadata unless the info set it.
    let from_spans = |key: &str, derived: Option<&str>| -> StoreResult<Option<String>> {
        if let Some(value) = info.trace_metadata.get(key) {
            return Ok(Some(value.clone()));
        }
        if let Some(value) = derived {
            insert_key_value_if_absent(conn, "trace_metadata", trace_pk, key, value)?;
        }
        Ok(derived.map(str::to_string))
    };
    let session = from_spans(keys::TRACE_SESSION, summary.session)?;
    let user = from_spans(keys::TRACE_USER, summary.user)?;
    let name = info.tags.get(keys::TRACE_NAME).map(String::as_str).or(summary.root.map(|r| r.name.as_str()));
    let tokens = info
        .trace_metadata
        .get(keys::TOKEN_USAGE)
        .and_then(|text| TokenUsage::from_json_text(text))
        .unwrap_or(summary.tokens);
    // The info is finalised (request time, duration, state stay as sent); previews derived
    // from the root span apply only where the info brought none (the UPDATE decides).
    conn.prepare_cached(UPDATE_SUMMARY)
        .and_then(|mut stmt| {
            stmt.execute(params![
                trace_pk,
                summary.spans.len() as i64,
                name,
                session,
                user,
                tokens.input_tokens,
                tokens.output_tokens,
                tokens.total_tokens,
                None::<i64>,
                None::<i64>,
                None::<&str>,
                summary.root.and_then(|r| r.request_preview.as_deref()),
                summary.root.and_then(|r| r.response_preview.as_deref()),
            ])
        })
        .map_err(sqlite_error)?;
    Ok(())
}

fn existing_trace_pk(conn: &Connection, trace_id: &str) -> StoreResult<i64> {
    find_trace_pk(conn, trace_id)?.ok_or_else(|| StoreError::NotFound(format!("trace {trace_id:?} does not exist")))
}

pub(crate) fn set_trace_tag(conn: &Connection, trace_id: &str, key: &str, value: &str) -> StoreResult<()> {
    if key.is_empty() {
        return Err(StoreError::InvalidArgument("tag key must not be empty".into()));
    }
    let trace_pk = existing_trace_pk(conn, trace_id)?;
    upsert_key_value(conn, "trace_tags", trace_pk, key, value)?;
    if key == keys::TRACE_NAME {
        refresh_trace(conn, trace_pk)?;
    }
    Ok(())
}

pub(crate) fn delete_trace_tag(conn: &Connection, trace_id: &str, key: &str) -> StoreResult<()> {
    let trace_pk = existing_trace_pk(conn, trace_id)?;
    let deleted = conn
        .prepare_cached("DELETE FROM trace_tags WHERE trace_pk = ?1 AND key = ?2")
        .and_then(|mut stmt| stmt.execute(params![trace_pk, key]))
        .map_err(sqlite_error)?;
    if deleted == 0 {
        return Err(StoreError::NotFound(format!("no tag {key:?} on trace {trace_id:?}")));
    }
    if key == keys::TRACE_NAME {
        refresh_trace(conn, trace_pk)?;
    }
    Ok(())
}

/// Deletes traces; their spans, tags, metadata, assessments and index rows go with them
/// (foreign-key cascades; the `spans_log_deletion` trigger tells the text index).
pub(crate) fn delete_traces(conn: &Connection, request: &DeleteTraces) -> StoreResult<usize> {
    match request {
        DeleteTraces::ByIds { experiment_id, trace_ids } => {
            let Some(experiment) = parse_experiment_id(experiment_id) else { return Ok(0) };
            let mut deleted = 0;
            for trace_id in trace_ids {
                deleted += conn
                    .prepare_cached("DELETE FROM traces WHERE experiment_id = ?1 AND trace_id = ?2")
                    .and_then(|mut stmt| stmt.execute(params![experiment, trace_id]))
                    .map_err(sqlite_error)?;
            }
            Ok(deleted)
        }
        DeleteTraces::OlderThan { experiment_id, max_timestamp_millis, max_traces } => {
            let Some(experiment) = parse_experiment_id(experiment_id) else { return Ok(0) };
            let limit = max_traces.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
            conn.prepare_cached(
                "DELETE FROM traces WHERE trace_pk IN (
                     SELECT trace_pk FROM traces WHERE experiment_id = ?1 AND request_time <= ?2
                     ORDER BY request_time ASC, trace_id ASC LIMIT ?3)",
            )
            .and_then(|mut stmt| stmt.execute(params![experiment, max_timestamp_millis, limit]))
            .map_err(sqlite_error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::simple_trace;
    use crate::sqlite::{schema, writer};
    use rusqlite::StatementStatus;

    fn write(conn: &Connection, n: u128) {
        let trace = simple_trace(n, "0", n as i64, 5, 2);
        let records: Vec<SpanRecord> = trace.data.spans.iter().map(SpanRecord::from_span).collect();
        conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        write_trace(conn, &trace.info, &records).expect("write");
        conn.execute_batch("COMMIT").expect("commit");
    }

    /// The writer closes with `PRAGMA optimize`, which (SQLite built with STAT4) stores
    /// histogram samples; a statement whose plan could depend on a bound value is then
    /// re-prepared whenever that value changes, i.e. on every write. The writer connection
    /// must not pay that.
    #[test]
    fn write_statements_are_not_reprepared_once_the_file_has_statistics() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("stats.db");
        {
            let mut conn = schema::open_connection(&path, false).expect("open");
            schema::migrate(&mut conn).expect("migrate");
            for n in 1..=300 {
                write(&conn, n);
            }
            conn.execute_batch("ANALYZE").expect("analyze");
            let samples: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_stat4", [], |r| r.get(0)).expect("stat4");
            assert!(samples > 0, "ANALYZE stored no STAT4 samples; the test does not test anything");
        }
        // The same writes on a connection as configured before and on the writer's: the first
        // shows the statistics do cause re-preparation (or this test proves nothing).
        let reprepares = |configure: bool, first: u128| {
            let conn = schema::open_connection(&path, false).expect("reopen");
            if configure {
                writer::configure_connection(&conn);
            }
            for n in first..first + 40 {
                write(&conn, n);
            }
            // Existing traces take the read-back path.
            for n in 1..=20 {
                write(&conn, n);
            }
            WRITE_PATH_SQL
                .iter()
                .map(|sql| {
                    let stmt = conn.prepare_cached(sql).expect("cached");
                    assert!(stmt.get_status(StatementStatus::Run) >= 20, "not the cached statement: {sql}");
                    (*sql, stmt.get_status(StatementStatus::RePrepare))
                })
                .collect::<Vec<_>>()
        };
        let before = reprepares(false, 1000);
        assert!(before.iter().any(|(_, n)| *n > 0), "no statement was re-prepared without the setting: {before:?}");
        let after = reprepares(true, 2000);
        assert!(after.iter().all(|(_, n)| *n == 0), "re-prepared on the writer connection: {after:?}");
    }

    /// Every stored row of a trace's summary, tags and metadata.
    fn snapshot(conn: &Connection, trace_id: &str) -> Vec<Vec<rusqlite::types::Value>> {
        let mut rows = Vec::new();
        for sql in [
            "SELECT * FROM traces WHERE trace_id = ?1",
            "SELECT key, value FROM trace_tags WHERE trace_pk = (SELECT trace_pk FROM traces WHERE trace_id = ?1) ORDER BY key",
            "SELECT key, value FROM trace_metadata WHERE trace_pk = (SELECT trace_pk FROM traces WHERE trace_id = ?1) ORDER BY key",
            "SELECT span_id, name FROM spans WHERE trace_pk = (SELECT trace_pk FROM traces WHERE trace_id = ?1) ORDER BY span_id",
        ] {
            let mut stmt = conn.prepare(sql).expect("prepare");
            let columns = stmt.column_count();
            let found = stmt
                .query_map([trace_id], |r| (0..columns).map(|i| r.get::<_, rusqlite::types::Value>(i)).collect())
                .expect("query")
                .collect::<rusqlite::Result<Vec<Vec<_>>>>()
                .expect("rows");
            rows.extend(found);
        }
        rows
    }

    /// A new trace's summary is computed in memory (`finish_new_trace`); writing the same
    /// trace again takes the read-back path (`refresh_trace`), which must find nothing to change.
    #[test]
    fn a_new_trace_summary_equals_the_one_read_back_from_its_rows() {
        use crate::conformance::{span, with_attr};
        let dir = tempfile::tempdir().expect("temp dir");
        let mut conn = schema::open_connection(&dir.path().join("same.db"), false).expect("open");
        schema::migrate(&mut conn).expect("migrate");

        let mut traces = vec![simple_trace(1, "0", 0, 5, 3)];
        // No name tag, session/user and token usage on children, outputs on the root, a span
        // sent twice (the last copy counts).
        let mut t = simple_trace(2, "0", 10, 50, 0);
        t.info.tags.shift_remove(keys::TRACE_NAME);
        t.data.spans[0] = with_attr(t.data.spans[0].clone(), keys::SPAN_OUTPUTS, r#"{"answer": "a"}"#);
        for (id, start) in [(2, 14), (3, 12)] {
            let child = with_attr(span(2, id, Some(1), &format!("c{id}"), start, start + 3), "session.id", &format!("\"s{id}\""));
            let child = with_attr(child, "user.id", &format!("\"u{id}\""));
            let child = with_attr(child, keys::CHAT_TOKEN_USAGE, r#"{"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}"#);
            t.data.spans.push(child);
        }
        t.data.spans.push(span(2, 3, Some(1), "c3-again", 13, 14));
        traces.push(t);
        // The info brings session, token usage and previews of its own.
        let mut t = simple_trace(3, "0", 20, 5, 1);
        t.info.trace_metadata.insert(keys::TRACE_SESSION.to_string(), "from-info".to_string());
        t.info.trace_metadata.insert(keys::TOKEN_USAGE.to_string(), r#"{"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}"#.to_string());
        t.info.request_preview = Some("req".to_string());
        t.data.spans[1] = with_attr(t.data.spans[1].clone(), "session.id", "\"from-span\"");
        traces.push(t);
        // No spans at all.
        let mut t = simple_trace(4, "0", 30, 5, 0);
        t.data.spans.clear();
        traces.push(t);

        for trace in &traces {
            let records: Vec<SpanRecord> = trace.data.spans.iter().map(SpanRecord::from_span).collect();
            write_trace(&conn, &trace.info, &records).expect("first write");
            let first = snapshot(&conn, &trace.info.trace_id);
            assert!(!first.is_empty());
            write_trace(&conn, &trace.info, &records).expect("second write");
            assert_eq!(first, snapshot(&conn, &trace.info.trace_id), "trace {}", trace.info.trace_id);
        }
    }

    const WRITE_PATH_SQL: [&str; 5] = [
        AGGREGATE_SPANS,
        "SELECT trace_pk FROM traces WHERE trace_id = ?1",
        "SELECT artifact_location FROM experiments WHERE experiment_id = ?1",
        "DELETE FROM spans WHERE trace_pk = ?1 AND span_id = ?2",
        "SELECT EXISTS (SELECT 1 FROM trace_metadata WHERE trace_pk = ?1 AND key = ?2)",
    ];
}
