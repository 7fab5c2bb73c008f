//! Write operations, each inside the caller's transaction. They mirror `sqlite/write_ops.rs`
//! statement for statement (same merge rules), with one addition for concurrency: a write
//! locks the trace's summary row (`FOR NO KEY UPDATE`, or the insert that creates it) before
//! touching its spans, so concurrent writers of one trace take turns and each recomputes the
//! summary from everything committed before it. Traces are locked in `trace_id` order, so
//! two batches never wait on each other in a cycle.

use crate::ingest_rules::{assessment_columns, parse_experiment_id, plan_assessment_merge, trace_artifact_location, validate_info};
use super::read_ops::{self, exec, opt_row, rows};
use super::Tx;
use crate::span_record::{request_preview as derive_request_preview, response_preview as derive_response_preview, SpanRecord, TokenUsage};
use crate::{payload, DeleteTraces, StoreError, StoreResult};
use clew_model::{keys, TraceInfo};
use indexmap::IndexMap;
use serde_json::Value;


pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(crate) async fn create_experiment(tx: &Tx<'_>, name: &str, artifact_location: Option<&str>) -> StoreResult<String> {
    if name.trim().is_empty() {
        return Err(StoreError::InvalidArgument("experiment name must not be empty".into()));
    }
    let taken = opt_row(tx, "SELECT 1 FROM experiments WHERE name = $1", &[&name]).await?.is_some();
    if taken {
        return Err(StoreError::AlreadyExists(format!("experiment {name:?} already exists")));
    }
    // A sequence, not MAX + 1: replicas creating experiments at once get distinct ids.
    let id: i64 = opt_row(tx, "SELECT nextval('experiments_id_seq')", &[])
        .await?
        .ok_or_else(|| StoreError::Internal("nextval returned no row".into()))?
        .get(0);
    let location = match artifact_location.filter(|l| !l.is_empty()) {
        Some(l) => l.to_string(),
        None => format!("mlflow-artifacts:/{id}"),
    };
    let now = now_ms();
    let inserted = exec(
        tx,
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
         VALUES ($1, $2, $3, 'active', $4, $4)
         ON CONFLICT (name) DO NOTHING",
        &[&id, &name, &location, &now],
    )
    .await?;
    if inserted == 0 {
        // Another replica created the same name since the check above.
        return Err(StoreError::AlreadyExists(format!("experiment {name:?} already exists")));
    }
    Ok(id.to_string())
}

/// The experiment's key and artifact location; `NotFound` when it does not exist.
async fn experiment_row(tx: &Tx<'_>, experiment_id: &str) -> StoreResult<(i64, String)> {
    let not_found = || StoreError::NotFound(format!("experiment {experiment_id:?} does not exist"));
    let id = parse_experiment_id(experiment_id).ok_or_else(not_found)?;
    let row = opt_row(tx, "SELECT artifact_location FROM experiments WHERE experiment_id = $1", &[&id]).await?;
    row.map(|r| (id, r.get::<_, String>(0))).ok_or_else(not_found)
}


/// Locks the trace's row for this transaction and returns its key.
pub(crate) async fn lock_trace(tx: &Tx<'_>, trace_id: &str) -> StoreResult<Option<i64>> {
    Ok(opt_row(tx, "SELECT trace_pk FROM traces WHERE trace_id = $1 FOR NO KEY UPDATE", &[&trace_id]).await?.map(|r| r.get(0)))
}

async fn upsert_key_value(tx: &Tx<'_>, table: &str, trace_pk: i64, key: &str, value: &str) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO {table} (trace_pk, key, value) VALUES ($1, $2, $3)
         ON CONFLICT (trace_pk, key) DO UPDATE SET value = excluded.value"
    );
    exec(tx, &sql, &[&trace_pk, &key, &value]).await?;
    Ok(())
}

/// Upserts several keys (distinct, as map keys are) in one statement.
async fn upsert_key_values(tx: &Tx<'_>, table: &str, trace_pk: i64, pairs: &[(&str, &str)]) -> StoreResult<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
    let values: Vec<&str> = pairs.iter().map(|(_, v)| *v).collect();
    let sql = format!(
        "INSERT INTO {table} (trace_pk, key, value) SELECT $1, k, v FROM unnest($2::TEXT[], $3::TEXT[]) AS x(k, v)
         ON CONFLICT (trace_pk, key) DO UPDATE SET value = excluded.value"
    );
    exec(tx, &sql, &[&trace_pk, &keys, &values]).await?;
    Ok(())
}

async fn insert_key_value_if_absent(tx: &Tx<'_>, table: &str, trace_pk: i64, key: &str, value: &str) -> StoreResult<()> {
    let sql = format!("INSERT INTO {table} (trace_pk, key, value) VALUES ($1, $2, $3) ON CONFLICT (trace_pk, key) DO NOTHING");
    exec(tx, &sql, &[&trace_pk, &key, &value]).await?;
    Ok(())
}

/// The trace row spans belong to (locked), created IN_PROGRESS when spans arrive first.
async fn ensure_trace_for_spans(tx: &Tx<'_>, trace_id: &str, experiment: &(i64, String), first_start_ns: i64) -> StoreResult<i64> {
    let request_time = first_start_ns.div_euclid(1_000_000);
    let inserted = opt_row(
        tx,
        "INSERT INTO traces (trace_id, experiment_id, request_time, state) VALUES ($1, $2, $3, 'IN_PROGRESS')
         ON CONFLICT (trace_id) DO NOTHING RETURNING trace_pk",
        &[&trace_id, &experiment.0, &request_time],
    )
    .await?;
    let pk: i64 = match inserted {
        Some(row) => row.get(0),
        None => lock_trace(tx, trace_id)
            .await?
            .ok_or_else(|| StoreError::Internal(format!("trace {trace_id} vanished while being written")))?,
    };
    insert_key_value_if_absent(tx, "trace_tags", pk, keys::ARTIFACT_LOCATION, &trace_artifact_location(&experiment.1, trace_id))
        .await?;
    Ok(pk)
}

/// Upserts a trace's spans in one statement (a re-sent span replaces the stored row). Within
/// one batch the last copy of a span wins, as if the copies had been written one by one.
async fn upsert_spans(tx: &Tx<'_>, trace_pk: i64, records: &[&SpanRecord]) -> StoreResult<()> {
    let mut last_copy: IndexMap<i64, &SpanRecord> = IndexMap::with_capacity(records.len());
    for record in records {
        last_copy.insert(record.span_id, record);
    }
    let spans: Vec<&SpanRecord> = last_copy.into_values().collect();
    if spans.is_empty() {
        return Ok(());
    }
    let usage = |r: &SpanRecord| r.token_usage.unwrap_or_default();
    let span_ids: Vec<i64> = spans.iter().map(|r| r.span_id).collect();
    let parents: Vec<Option<i64>> = spans.iter().map(|r| r.parent_span_id).collect();
    let names: Vec<&str> = spans.iter().map(|r| r.name.as_str()).collect();
    let types: Vec<Option<&str>> = spans.iter().map(|r| r.span_type.as_deref()).collect();
    let statuses: Vec<&str> = spans.iter().map(|r| r.status).collect();
    let starts: Vec<i64> = spans.iter().map(|r| r.start_time_ns).collect();
    let ends: Vec<Option<i64>> = spans.iter().map(|r| r.end_time_ns).collect();
    let inputs: Vec<Option<i64>> = spans.iter().map(|r| usage(r).input_tokens).collect();
    let outputs: Vec<Option<i64>> = spans.iter().map(|r| usage(r).output_tokens).collect();
    let totals: Vec<Option<i64>> = spans.iter().map(|r| usage(r).total_tokens).collect();
    let sessions: Vec<Option<&str>> = spans.iter().map(|r| r.session_id.as_deref()).collect();
    let users: Vec<Option<&str>> = spans.iter().map(|r| r.user_id.as_deref()).collect();
    let contents: Vec<&str> = spans.iter().map(|r| r.content.as_str()).collect();
    exec(
        tx,
        "INSERT INTO spans (trace_pk, span_id, parent_span_id, name, span_type, status, start_time_ns,
                            end_time_ns, input_tokens, output_tokens, total_tokens, session_id, user_id, content)
         SELECT $1, * FROM unnest($2::BIGINT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::BIGINT[],
                                  $8::BIGINT[], $9::BIGINT[], $10::BIGINT[], $11::BIGINT[], $12::TEXT[], $13::TEXT[],
                                  $14::TEXT[])
         ON CONFLICT (trace_pk, span_id) DO UPDATE SET
             parent_span_id = excluded.parent_span_id, name = excluded.name, span_type = excluded.span_type,
             status = excluded.status, start_time_ns = excluded.start_time_ns, end_time_ns = excluded.end_time_ns,
             input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
             total_tokens = excluded.total_tokens, session_id = excluded.session_id, user_id = excluded.user_id,
             content = excluded.content",
        &[
            &trace_pk, &span_ids, &parents, &names, &types, &statuses, &starts, &ends, &inputs, &outputs, &totals,
            &sessions, &users, &contents,
        ],
    )
    .await?;
    Ok(())
}

/// Recomputes the span-derived fields of the summary row from what is stored.
async fn refresh_trace(tx: &Tx<'_>, trace_pk: i64) -> StoreResult<()> {
    // Everything the summary derives from, in one round trip: span aggregates, the stored row,
    // the root span (its JSON only while a preview is missing), the first session/user ids on
    // spans and the tag/metadata values that take precedence.
    let state = opt_row(
        tx,
        "SELECT a.n, a.min_start, a.max_end, a.input_tokens, a.output_tokens, a.total_tokens,
                t.info_finalized, t.request_preview, t.response_preview,
                r.name, r.status,
                CASE WHEN COALESCE(t.request_preview, '') = '' OR COALESCE(t.response_preview, '') = ''
                     THEN r.content END,
                (SELECT value FROM trace_tags WHERE trace_pk = $1 AND key = $2),
                (SELECT value FROM trace_metadata WHERE trace_pk = $1 AND key = $3),
                (SELECT value FROM trace_metadata WHERE trace_pk = $1 AND key = $4),
                (SELECT value FROM trace_metadata WHERE trace_pk = $1 AND key = $5),
                (SELECT session_id FROM spans WHERE trace_pk = $1 AND session_id IS NOT NULL
                 ORDER BY start_time_ns, span_id LIMIT 1),
                (SELECT user_id FROM spans WHERE trace_pk = $1 AND user_id IS NOT NULL
                 ORDER BY start_time_ns, span_id LIMIT 1)
         FROM traces t
         CROSS JOIN (SELECT COUNT(*)::BIGINT AS n, MIN(start_time_ns) AS min_start, MAX(end_time_ns) AS max_end,
                            SUM(input_tokens)::BIGINT AS input_tokens, SUM(output_tokens)::BIGINT AS output_tokens,
                            SUM(total_tokens)::BIGINT AS total_tokens
                     FROM spans WHERE trace_pk = $1) a
         LEFT JOIN LATERAL (SELECT name, status, content FROM spans
                            WHERE trace_pk = $1 AND parent_span_id IS NULL
                            ORDER BY start_time_ns, span_id LIMIT 1) r ON TRUE
         WHERE t.trace_pk = $1",
        &[&trace_pk, &keys::TRACE_NAME, &keys::TRACE_SESSION, &keys::TRACE_USER, &keys::TOKEN_USAGE],
    )
    .await?
    .ok_or_else(|| StoreError::Internal(format!("trace row {trace_pk} vanished while being written")))?;
    let span_count: i64 = state.get(0);
    let min_start_ns: Option<i64> = state.get(1);
    let max_end_ns: Option<i64> = state.get(2);
    let span_tokens = TokenUsage { input_tokens: state.get(3), output_tokens: state.get(4), total_tokens: state.get(5) };
    let finalized: bool = state.get(6);
    let request_preview: Option<String> = state.get(7);
    let response_preview: Option<String> = state.get(8);
    let root: Option<(String, String)> = state.get::<_, Option<String>>(9).map(|name| (name, state.get(10)));
    let root_content: Option<String> = state.get(11);
    let trace_name_tag: Option<String> = state.get(12);
    let mut session: Option<String> = state.get(13);
    let mut user: Option<String> = state.get(14);
    let token_usage_meta: Option<String> = state.get(15);

    // The first session/user id seen on a span becomes trace metadata unless already set.
    for (slot, span_value, key) in [
        (&mut session, state.get::<_, Option<String>>(16), keys::TRACE_SESSION),
        (&mut user, state.get::<_, Option<String>>(17), keys::TRACE_USER),
    ] {
        if slot.is_none() {
            if let Some(value) = span_value {
                insert_key_value_if_absent(tx, "trace_metadata", trace_pk, key, &value).await?;
                *slot = Some(value);
            }
        }
    }

    let is_empty = |p: &Option<String>| p.as_deref().is_none_or(str::is_empty);
    let (mut new_request_preview, mut new_response_preview) = (None, None);
    if let Some(content) = &root_content {
        let span = payload::span_from_json(content)?;
        let raw = |key: &str| span.attributes.get(key).filter(|v| !v.is_empty()).cloned();
        if is_empty(&request_preview) {
            new_request_preview = raw(keys::SPAN_INPUTS).map(|v| derive_request_preview(&v));
        }
        if is_empty(&response_preview) {
            new_response_preview = raw(keys::SPAN_OUTPUTS).map(|v| derive_response_preview(&v));
        }
    }

    let name = trace_name_tag.or_else(|| root.as_ref().map(|(name, _)| name.clone()));
    let tokens = token_usage_meta.and_then(|text| TokenUsage::from_json_text(&text)).unwrap_or(span_tokens);

    // Fields StartTraceV3 finalises are derived from spans only until it arrives.
    let (request_time, duration, state): (Option<i64>, Option<i64>, Option<&str>) = if finalized {
        (None, None, None)
    } else {
        let request_time = min_start_ns.map(|ns| ns.div_euclid(1_000_000));
        let duration = match (min_start_ns, max_end_ns) {
            (Some(start), Some(end)) if end >= start => Some((end - start) / 1_000_000),
            _ => None,
        };
        let state = match &root {
            Some((_, status)) if status == "ERROR" => "ERROR",
            Some(_) => "OK",
            None => "IN_PROGRESS",
        };
        (request_time, duration, Some(state))
    };

    exec(
        tx,
        "UPDATE traces SET
             span_count = $2, name = $3, session_id = $4, user_id = $5,
             input_tokens = $6, output_tokens = $7, total_tokens = $8,
             request_time = CASE WHEN info_finalized THEN request_time ELSE COALESCE($9, request_time) END,
             execution_duration = CASE WHEN info_finalized THEN execution_duration ELSE $10 END,
             state = CASE WHEN info_finalized THEN state ELSE COALESCE($11, state) END,
             request_preview = CASE WHEN COALESCE(request_preview, '') = '' THEN $12 ELSE request_preview END,
             response_preview = CASE WHEN COALESCE(response_preview, '') = '' THEN $13 ELSE response_preview END
         WHERE trace_pk = $1",
        &[
            &trace_pk,
            &span_count,
            &name,
            &session,
            &user,
            &tokens.input_tokens,
            &tokens.output_tokens,
            &tokens.total_tokens,
            &request_time,
            &duration,
            &state,
            &new_request_preview,
            &new_response_preview,
        ],
    )
    .await?;
    Ok(())
}

/// `log_spans`: upserts spans, creating the traces they belong to.
pub(crate) async fn log_spans(tx: &Tx<'_>, experiment_id: &str, spans: &[SpanRecord]) -> StoreResult<()> {
    let experiment = experiment_row(tx, experiment_id).await?;
    let mut by_trace: IndexMap<&str, Vec<&SpanRecord>> = IndexMap::new();
    for record in spans {
        by_trace.entry(record.trace_id.as_str()).or_default().push(record);
    }
    // Lock order = trace id order: concurrent batches never deadlock on each other.
    by_trace.sort_keys();
    for (trace_id, records) in by_trace {
        let first_start = records.iter().map(|r| r.start_time_ns).min().unwrap_or(0);
        let trace_pk = ensure_trace_for_spans(tx, trace_id, &experiment, first_start).await?;
        tokio::try_join!(
            upsert_spans(tx, trace_pk, &records),
            upsert_key_value(tx, "trace_tags", trace_pk, keys::SPANS_LOCATION, keys::SPANS_LOCATION_TRACKING_STORE),
        )?;
        refresh_trace(tx, trace_pk).await?;
    }
    Ok(())
}


/// Inserts or merges the final info (trace row locked); returns the trace's key.
async fn upsert_info(tx: &Tx<'_>, info: &TraceInfo) -> StoreResult<i64> {
    let experiment_id = validate_info(info)?;
    let experiment = experiment_row(tx, &experiment_id).await?;
    let non_empty = |p: &Option<String>| p.clone().filter(|s| !s.is_empty());
    let (request_preview, response_preview) = (non_empty(&info.request_preview), non_empty(&info.response_preview));
    let state = info.state.as_str();
    let inserted = opt_row(
        tx,
        "INSERT INTO traces (trace_id, experiment_id, request_time, execution_duration, state,
                             client_request_id, request_preview, response_preview, info_finalized)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE)
         ON CONFLICT (trace_id) DO NOTHING RETURNING trace_pk",
        &[
            &info.trace_id,
            &experiment.0,
            &info.request_time,
            &info.execution_duration,
            &state,
            &info.client_request_id,
            &request_preview,
            &response_preview,
        ],
    )
    .await?;
    let trace_pk: i64 = match inserted {
        Some(row) => row.get(0),
        None => {
            let pk = lock_trace(tx, &info.trace_id)
                .await?
                .ok_or_else(|| StoreError::Internal(format!("trace {} vanished while being written", info.trace_id)))?;
            // The client's values win; stored previews stay when the client sends none.
            exec(
                tx,
                "UPDATE traces SET experiment_id = $2, request_time = $3, execution_duration = $4, state = $5,
                     client_request_id = COALESCE($6, client_request_id),
                     request_preview = COALESCE($7, request_preview),
                     response_preview = COALESCE($8, response_preview),
                     info_finalized = TRUE
                 WHERE trace_pk = $1",
                &[
                    &pk,
                    &experiment.0,
                    &info.request_time,
                    &info.execution_duration,
                    &state,
                    &info.client_request_id,
                    &request_preview,
                    &response_preview,
                ],
            )
            .await?;
            pk
        }
    };
    // The artifact location is server-set and immutable.
    let tags: Vec<(&str, &str)> =
        info.tags.iter().filter(|(k, _)| *k != keys::ARTIFACT_LOCATION).map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut metadata: Vec<(&str, &str)> = info
        .trace_metadata
        .iter()
        .filter(|(k, _)| *k != keys::INFO_FINALIZED)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    metadata.push((keys::INFO_FINALIZED, "true"));
    let artifact_location = trace_artifact_location(&experiment.1, &info.trace_id);
    // Independent statements, pipelined: sent together, run in this order, one round trip.
    tokio::try_join!(
        upsert_key_values(tx, "trace_tags", trace_pk, &tags),
        insert_key_value_if_absent(tx, "trace_tags", trace_pk, keys::ARTIFACT_LOCATION, &artifact_location),
        upsert_key_values(tx, "trace_metadata", trace_pk, &metadata),
    )?;
    if !info.assessments.is_empty() {
        merge_assessments(tx, trace_pk, &info.assessments).await?;
    }
    Ok(trace_pk)
}



/// Writes the assessment dict at `position` (insert or replace), with its search columns.
pub(crate) async fn store_assessment_json(
    tx: &Tx<'_>,
    trace_pk: i64,
    position: i32,
    assessment: &Value,
    assessment_id: Option<&str>,
) -> StoreResult<()> {
    let columns = assessment_columns(assessment);
    let valid = i32::from(columns.valid);
    exec(
        tx,
        "INSERT INTO assessments (trace_pk, position, name, kind, value_text, value_json, valid, payload, assessment_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (trace_pk, position) DO UPDATE SET
             name = excluded.name, kind = excluded.kind, value_text = excluded.value_text,
             value_json = excluded.value_json, valid = excluded.valid, payload = excluded.payload,
             assessment_id = excluded.assessment_id",
        &[
            &trace_pk,
            &position,
            &columns.name,
            &columns.kind,
            &columns.value_text,
            &columns.value_json,
            &valid,
            &assessment.to_string(),
            &assessment_id,
        ],
    )
    .await?;
    Ok(())
}

/// Merges the assessments a TraceInfo carries into the stored ones, by `assessment_id` (as
/// SQLite does): an incoming assessment replaces the stored one with its id (keeping its
/// place); assessments without an id replace the stored ones without an id; stored
/// assessments with other ids stay. Re-delivering the same info changes nothing.
async fn merge_assessments(tx: &Tx<'_>, trace_pk: i64, assessments: &[Value]) -> StoreResult<()> {
    let stored: Vec<(i64, Option<String>)> =
        rows(tx, "SELECT position, assessment_id FROM assessments WHERE trace_pk = $1 ORDER BY position", &[&trace_pk])
            .await?
            .iter()
            .map(|r| (i64::from(r.get::<_, i32>(0)), r.get(1)))
            .collect();
    exec(tx, "DELETE FROM assessments WHERE trace_pk = $1 AND assessment_id IS NULL", &[&trace_pk]).await?;
    for (position, id, assessment) in plan_assessment_merge(&stored, assessments) {
        let position = i32::try_from(position)
            .map_err(|_| StoreError::Internal(format!("assessment position {position} is out of range")))?;
        store_assessment_json(tx, trace_pk, position, assessment, id.as_deref()).await?;
    }
    Ok(())
}

/// StartTraceV3: insert or merge the final info, return what is stored.
pub(crate) async fn start_trace(tx: &Tx<'_>, info: &TraceInfo) -> StoreResult<TraceInfo> {
    let trace_pk = upsert_info(tx, info).await?;
    refresh_trace(tx, trace_pk).await?;
    read_ops::load_infos(tx, &[trace_pk])
        .await?
        .pop()
        .ok_or_else(|| StoreError::Internal(format!("trace {} vanished while being written", info.trace_id)))
}

/// A finished trace, info and spans together (the SDK's local destination).
pub(crate) async fn write_trace(tx: &Tx<'_>, info: &TraceInfo, spans: &[SpanRecord]) -> StoreResult<()> {
    let trace_pk = upsert_info(tx, info).await?;
    if !spans.is_empty() {
        let spans: Vec<&SpanRecord> = spans.iter().collect();
        tokio::try_join!(
            upsert_spans(tx, trace_pk, &spans),
            upsert_key_value(tx, "trace_tags", trace_pk, keys::SPANS_LOCATION, keys::SPANS_LOCATION_TRACKING_STORE),
        )?;
    }
    refresh_trace(tx, trace_pk).await
}

async fn existing_trace_pk(tx: &Tx<'_>, trace_id: &str) -> StoreResult<i64> {
    lock_trace(tx, trace_id).await?.ok_or_else(|| StoreError::NotFound(format!("trace {trace_id:?} does not exist")))
}

pub(crate) async fn set_trace_tag(tx: &Tx<'_>, trace_id: &str, key: &str, value: &str) -> StoreResult<()> {
    if key.is_empty() {
        return Err(StoreError::InvalidArgument("tag key must not be empty".into()));
    }
    let trace_pk = existing_trace_pk(tx, trace_id).await?;
    upsert_key_value(tx, "trace_tags", trace_pk, key, value).await?;
    if key == keys::TRACE_NAME {
        refresh_trace(tx, trace_pk).await?;
    }
    Ok(())
}

pub(crate) async fn delete_trace_tag(tx: &Tx<'_>, trace_id: &str, key: &str) -> StoreResult<()> {
    let trace_pk = existing_trace_pk(tx, trace_id).await?;
    let deleted = exec(tx, "DELETE FROM trace_tags WHERE trace_pk = $1 AND key = $2", &[&trace_pk, &key]).await?;
    if deleted == 0 {
        return Err(StoreError::NotFound(format!("no tag {key:?} on trace {trace_id:?}")));
    }
    if key == keys::TRACE_NAME {
        refresh_trace(tx, trace_pk).await?;
    }
    Ok(())
}

/// Deletes traces; their spans, tags, metadata and assessments go with them (cascades).
pub(crate) async fn delete_traces(tx: &Tx<'_>, request: &DeleteTraces) -> StoreResult<usize> {
    let deleted = match request {
        DeleteTraces::ByIds { experiment_id, trace_ids } => {
            let Some(experiment) = parse_experiment_id(experiment_id) else { return Ok(0) };
            exec(tx, "DELETE FROM traces WHERE experiment_id = $1 AND trace_id = ANY($2)", &[&experiment, trace_ids]).await?
        }
        DeleteTraces::OlderThan { experiment_id, max_timestamp_millis, max_traces } => {
            let Some(experiment) = parse_experiment_id(experiment_id) else { return Ok(0) };
            let limit: Option<i64> = max_traces.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
            exec(
                tx,
                "DELETE FROM traces WHERE trace_pk IN (
                     SELECT trace_pk FROM traces WHERE experiment_id = $1 AND request_time <= $2
                     ORDER BY request_time ASC, trace_id ASC LIMIT $3)",
                &[&experiment, max_timestamp_millis, &limit],
            )
            .await?
        }
    };
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}
