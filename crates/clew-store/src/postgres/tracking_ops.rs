//! SQL of the tracking-server operations (experiments for the UI, runs and trace↔run links,
//! assessment CRUD, artifacts, skeleton and on-demand span reads), mirroring
//! `sqlite/tracking_ops.rs`. The backend-neutral rules live in [`crate::tracking`].

use super::read_ops::{self, exec, find_trace_pk, opt_row, rows};
use super::write_ops::{lock_trace, store_assessment_json};
use crate::ingest_rules::parse_experiment_id;
use super::Tx;
use crate::tracking::{self, artifact_prefix_range, NewRun};
use crate::span_text::SpanTextQuery;
use crate::{payload, ArtifactInfo, ExperimentPage, SearchExperimentsRequest, SpanSkeleton, StoreError, StoreResult, UpdateRun, ViewType};
use clew_model::{Assessment, AssessmentUpdate, Run, Span, SpanId, TraceInfo};

// ---------------------------------------------------------------- experiments

/// The experiment's id, lifecycle stage and artifact location (row locked when `lock`).
async fn experiment_stage(tx: &Tx<'_>, experiment_id: &str, lock: bool) -> StoreResult<(i64, String, String)> {
    let not_found = || StoreError::NotFound(format!("experiment {experiment_id:?} does not exist"));
    let id = parse_experiment_id(experiment_id).ok_or_else(not_found)?;
    let sql = if lock {
        "SELECT lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = $1 FOR NO KEY UPDATE"
    } else {
        "SELECT lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = $1"
    };
    let row = opt_row(tx, sql, &[&id]).await?.ok_or_else(not_found)?;
    Ok((id, row.get(0), row.get(1)))
}

pub(crate) async fn count_traces(tx: &Tx<'_>, experiment_id: &str) -> StoreResult<u64> {
    let Some(id) = parse_experiment_id(experiment_id) else { return Ok(0) };
    let n: i64 = opt_row(tx, "SELECT COUNT(*)::BIGINT FROM traces WHERE experiment_id = $1", &[&id])
        .await?
        .map_or(0, |r| r.get(0));
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) async fn search_experiments(
    tx: &Tx<'_>,
    request: &SearchExperimentsRequest,
    max_results: usize,
    offset: usize,
) -> StoreResult<ExperimentPage> {
    let stage = match request.view_type {
        ViewType::ActiveOnly => "lifecycle_stage = 'active'",
        ViewType::DeletedOnly => "lifecycle_stage = 'deleted'",
        ViewType::All => "TRUE",
    };
    let needle = request.name_contains.as_deref().unwrap_or_default().to_lowercase();
    // Experiments are few: filter names in Rust (Unicode-aware, as SQLite does), page after.
    let sql = format!("SELECT experiment_id, name FROM experiments WHERE {stage} ORDER BY experiment_id");
    let page: Vec<i64> = rows(tx, &sql, &[])
        .await?
        .iter()
        .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)))
        .filter(|(_, name)| needle.is_empty() || name.to_lowercase().contains(&needle))
        .map(|(id, _)| id)
        .skip(offset)
        .take(max_results)
        .collect();
    let mut experiments = Vec::with_capacity(page.len());
    for id in page {
        let id = id.to_string();
        let Some(experiment) = read_ops::get_experiment(tx, &id).await? else { continue };
        let count = count_traces(tx, &id).await?;
        experiments.push((experiment, count));
    }
    let next_page_token = (experiments.len() == max_results).then(|| crate::page_token::encode(offset + experiments.len()));
    Ok(ExperimentPage { experiments, next_page_token })
}

pub(crate) async fn rename_experiment(tx: &Tx<'_>, experiment_id: &str, new_name: &str, now: i64) -> StoreResult<()> {
    if new_name.trim().is_empty() {
        return Err(StoreError::InvalidArgument("experiment name must not be empty".into()));
    }
    let (id, stage, _) = experiment_stage(tx, experiment_id, true).await?;
    if stage != "active" {
        return Err(StoreError::InvalidArgument(format!(
            "cannot rename experiment {experiment_id:?}: it is {stage}, only active experiments can be renamed"
        )));
    }
    let taken = opt_row(tx, "SELECT 1 FROM experiments WHERE name = $1 AND experiment_id != $2", &[&new_name, &id]).await?;
    if taken.is_some() {
        return Err(StoreError::AlreadyExists(format!("experiment {new_name:?} already exists")));
    }
    exec(tx, "UPDATE experiments SET name = $2, last_update_time = $3 WHERE experiment_id = $1", &[&id, &new_name, &now]).await?;
    Ok(())
}

/// `deleted = true`: delete; `false`: restore.
pub(crate) async fn set_experiment_deleted(tx: &Tx<'_>, experiment_id: &str, deleted: bool, now: i64) -> StoreResult<()> {
    let (id, stage, _) = experiment_stage(tx, experiment_id, true).await?;
    let (from, to) = if deleted { ("active", "deleted") } else { ("deleted", "active") };
    if deleted && id == 0 {
        return Err(StoreError::InvalidArgument("the Default experiment (id 0) cannot be deleted".into()));
    }
    if stage != from {
        // MLflow looks the experiment up among the active (delete) or deleted (restore) ones.
        return Err(StoreError::NotFound(format!("no {from} experiment with id {experiment_id:?} exists (it is {stage})")));
    }
    exec(
        tx,
        "UPDATE experiments SET lifecycle_stage = $2, last_update_time = $3 WHERE experiment_id = $1",
        &[&id, &to, &now],
    )
    .await?;
    exec(tx, "UPDATE runs SET lifecycle_stage = $2 WHERE experiment_id = $1", &[&id, &to]).await?;
    Ok(())
}

pub(crate) async fn set_experiment_tag(tx: &Tx<'_>, experiment_id: &str, key: &str, value: &str) -> StoreResult<()> {
    if key.is_empty() {
        return Err(StoreError::InvalidArgument("tag key must not be empty".into()));
    }
    let (id, _, _) = experiment_stage(tx, experiment_id, false).await?;
    exec(
        tx,
        "INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3)
         ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
        &[&id, &key, &value],
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- runs

pub(crate) async fn create_run(tx: &Tx<'_>, new: &NewRun) -> StoreResult<Run> {
    let request = &new.request;
    let (experiment, stage, location) = experiment_stage(tx, &request.experiment_id, false).await?;
    let row = new.row(&stage, &location)?;
    exec(
        tx,
        "INSERT INTO runs (run_id, experiment_id, run_name, user_id, status, start_time, end_time, lifecycle_stage, artifact_uri)
         VALUES ($1, $2, $3, $4, 'RUNNING', $5, NULL, 'active', $6)",
        &[&new.run_id, &experiment, &row.run_name, &row.user_id, &row.start_time, &row.artifact_uri],
    )
    .await?;
    for (key, value) in &request.tags {
        if key.is_empty() {
            return Err(StoreError::InvalidArgument("run tag keys must not be empty".into()));
        }
        set_run_tag(tx, &new.run_id, key, value).await?;
    }
    set_run_tag(tx, &new.run_id, clew_model::run::RUN_NAME_TAG, &row.run_name).await?;
    get_run(tx, &new.run_id).await?.ok_or_else(|| StoreError::Internal(format!("run {} vanished while created", new.run_id)))
}

async fn set_run_tag(tx: &Tx<'_>, run_id: &str, key: &str, value: &str) -> StoreResult<()> {
    exec(
        tx,
        "INSERT INTO run_tags (run_id, key, value) VALUES ($1, $2, $3)
         ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
        &[&run_id, &key, &value],
    )
    .await?;
    Ok(())
}

pub(crate) async fn get_run(tx: &Tx<'_>, run_id: &str) -> StoreResult<Option<Run>> {
    let row = opt_row(
        tx,
        "SELECT run_id, experiment_id, run_name, user_id, status, start_time, end_time, lifecycle_stage, artifact_uri
         FROM runs WHERE run_id = $1",
        &[&run_id],
    )
    .await?;
    let Some(r) = row else { return Ok(None) };
    let mut run = Run {
        run_id: r.get(0),
        experiment_id: r.get::<_, i64>(1).to_string(),
        run_name: r.get(2),
        user_id: r.get(3),
        status: r.get::<_, String>(4).parse().unwrap_or_default(),
        start_time: r.get(5),
        end_time: r.get(6),
        lifecycle_stage: r.get(7),
        artifact_uri: r.get(8),
        tags: Default::default(),
    };
    for r in rows(tx, "SELECT key, value FROM run_tags WHERE run_id = $1 ORDER BY key", &[&run_id]).await? {
        run.tags.insert(r.get(0), r.get(1));
    }
    Ok(Some(run))
}

pub(crate) async fn update_run(tx: &Tx<'_>, run_id: &str, update: &UpdateRun) -> StoreResult<Run> {
    if opt_row(tx, "SELECT 1 FROM runs WHERE run_id = $1 FOR NO KEY UPDATE", &[&run_id]).await?.is_none() {
        return Err(StoreError::NotFound(format!("run {run_id:?} does not exist")));
    }
    if let Some(name) = update.run_name.as_deref().filter(|n| !n.is_empty()) {
        exec(tx, "UPDATE runs SET run_name = $2 WHERE run_id = $1", &[&run_id, &name]).await?;
        set_run_tag(tx, run_id, clew_model::run::RUN_NAME_TAG, name).await?;
    }
    if let Some(status) = update.status {
        exec(tx, "UPDATE runs SET status = $2 WHERE run_id = $1", &[&run_id, &status.as_str()]).await?;
    }
    if let Some(end_time) = update.end_time {
        exec(tx, "UPDATE runs SET end_time = $2 WHERE run_id = $1", &[&run_id, &end_time]).await?;
    }
    get_run(tx, run_id).await?.ok_or_else(|| StoreError::Internal(format!("run {run_id:?} vanished while updated")))
}

pub(crate) async fn link_traces_to_run(tx: &Tx<'_>, trace_ids: &[String], run_id: &str) -> StoreResult<()> {
    exec(
        tx,
        "INSERT INTO trace_run_links (trace_id, run_id) SELECT DISTINCT unnest($1::TEXT[]), $2
         ON CONFLICT DO NOTHING",
        &[&trace_ids, &run_id],
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- assessments

/// The trace's key, its row locked for this transaction.
async fn existing_trace_pk(tx: &Tx<'_>, trace_id: &str) -> StoreResult<i64> {
    lock_trace(tx, trace_id).await?.ok_or_else(|| StoreError::NotFound(format!("trace {trace_id:?} does not exist")))
}

/// The stored row (position) and parsed assessment, if any.
async fn find_assessment(tx: &Tx<'_>, trace_pk: i64, assessment_id: &str) -> StoreResult<Option<(i32, Assessment)>> {
    let row = opt_row(
        tx,
        "SELECT position, payload FROM assessments WHERE trace_pk = $1 AND assessment_id = $2 ORDER BY position LIMIT 1",
        &[&trace_pk, &assessment_id],
    )
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (position, text): (i32, String) = (row.get(0), row.get(1));
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| StoreError::Internal(format!("stored assessment {assessment_id:?} is not JSON: {e}")))?;
    let assessment = Assessment::from_json(&value)
        .map_err(|e| StoreError::Internal(format!("stored assessment {assessment_id:?} is malformed: {e}")))?;
    Ok(Some((position, assessment)))
}

async fn store_assessment(tx: &Tx<'_>, trace_pk: i64, position: i32, assessment: &Assessment) -> StoreResult<()> {
    let id = (!assessment.assessment_id.is_empty()).then_some(assessment.assessment_id.as_str());
    store_assessment_json(tx, trace_pk, position, &assessment.to_json(), id).await
}

async fn set_assessment_valid(tx: &Tx<'_>, trace_pk: i64, assessment_id: &str, valid: bool) -> StoreResult<bool> {
    let Some((position, mut assessment)) = find_assessment(tx, trace_pk, assessment_id).await? else { return Ok(false) };
    assessment.valid = valid;
    store_assessment(tx, trace_pk, position, &assessment).await?;
    Ok(true)
}

/// `assessment` is already prepared ([`tracking::prepare_new_assessment`]).
pub(crate) async fn create_assessment(tx: &Tx<'_>, assessment: &Assessment) -> StoreResult<Assessment> {
    let trace_pk = existing_trace_pk(tx, &assessment.trace_id).await?;
    if find_assessment(tx, trace_pk, &assessment.assessment_id).await?.is_some() {
        return Err(StoreError::AlreadyExists(format!(
            "assessment {:?} already exists on trace {:?}",
            assessment.assessment_id, assessment.trace_id
        )));
    }
    if let Some(overridden) = &assessment.overrides {
        if !set_assessment_valid(tx, trace_pk, overridden, false).await? {
            return Err(StoreError::NotFound(format!(
                "assessment {overridden:?} (named in overrides) does not exist on trace {:?}",
                assessment.trace_id
            )));
        }
    }
    let position: i32 = opt_row(tx, "SELECT COALESCE(MAX(position), -1) + 1 FROM assessments WHERE trace_pk = $1", &[&trace_pk])
        .await?
        .map_or(0, |r| r.get(0));
    store_assessment(tx, trace_pk, position, assessment).await?;
    Ok(assessment.clone())
}

pub(crate) async fn get_assessment(tx: &Tx<'_>, trace_id: &str, assessment_id: &str) -> StoreResult<Option<Assessment>> {
    let Some(trace_pk) = find_trace_pk(tx, trace_id).await? else { return Ok(None) };
    Ok(find_assessment(tx, trace_pk, assessment_id).await?.map(|(_, mut a)| {
        // Assessments logged inside a TraceInfo may leave their trace id out.
        if a.trace_id.is_empty() {
            a.trace_id = trace_id.to_string();
        }
        a
    }))
}

pub(crate) async fn update_assessment(
    tx: &Tx<'_>,
    trace_id: &str,
    assessment_id: &str,
    update: &AssessmentUpdate,
    now: i64,
) -> StoreResult<Assessment> {
    let trace_pk = existing_trace_pk(tx, trace_id).await?;
    let (position, mut assessment) = find_assessment(tx, trace_pk, assessment_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("assessment {assessment_id:?} does not exist on trace {trace_id:?}")))?;
    tracking::apply_assessment_update(&mut assessment, update, now)?;
    if assessment.trace_id.is_empty() {
        assessment.trace_id = trace_id.to_string();
    }
    store_assessment(tx, trace_pk, position, &assessment).await?;
    Ok(assessment)
}

pub(crate) async fn delete_assessment(tx: &Tx<'_>, trace_id: &str, assessment_id: &str) -> StoreResult<()> {
    let Some(trace_pk) = lock_trace(tx, trace_id).await? else { return Ok(()) };
    let Some((position, assessment)) = find_assessment(tx, trace_pk, assessment_id).await? else { return Ok(()) };
    exec(tx, "DELETE FROM assessments WHERE trace_pk = $1 AND position = $2", &[&trace_pk, &position]).await?;
    if let Some(overridden) = &assessment.overrides {
        set_assessment_valid(tx, trace_pk, overridden, true).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------- artifacts

pub(crate) async fn put_artifact(tx: &Tx<'_>, path: &str, bytes: &[u8], now: i64) -> StoreResult<()> {
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    exec(
        tx,
        "INSERT INTO artifacts (path, size, content, last_update_time) VALUES ($1, $2, $3, $4)
         ON CONFLICT (path) DO UPDATE SET size = excluded.size, content = excluded.content,
             last_update_time = excluded.last_update_time",
        &[&path, &size, &bytes, &now],
    )
    .await?;
    Ok(())
}

pub(crate) async fn get_artifact(tx: &Tx<'_>, path: &str) -> StoreResult<Option<Vec<u8>>> {
    Ok(opt_row(tx, "SELECT content FROM artifacts WHERE path = $1", &[&path]).await?.map(|r| r.get(0)))
}

pub(crate) async fn list_artifacts(tx: &Tx<'_>, prefix: &str) -> StoreResult<Vec<ArtifactInfo>> {
    let found = match artifact_prefix_range(prefix) {
        None => rows(tx, "SELECT path, size FROM artifacts ORDER BY path", &[]).await?,
        Some((low, high)) => {
            rows(tx, "SELECT path, size FROM artifacts WHERE path >= $1 AND path < $2 ORDER BY path", &[&low, &high]).await?
        }
    };
    Ok(found
        .iter()
        .map(|r| ArtifactInfo { path: r.get(0), size: u64::try_from(r.get::<_, i64>(1)).unwrap_or(0) })
        .collect())
}

pub(crate) async fn delete_artifact(tx: &Tx<'_>, path: &str) -> StoreResult<bool> {
    Ok(exec(tx, "DELETE FROM artifacts WHERE path = $1", &[&path]).await? > 0)
}

// ---------------------------------------------------------------- big traces

fn hex_id(bits: i64) -> String {
    SpanId::from_u64(bits as u64).to_hex()
}

pub(crate) async fn get_trace_skeleton(tx: &Tx<'_>, trace_id: &str) -> StoreResult<Option<(TraceInfo, Vec<SpanSkeleton>)>> {
    let Some(trace_pk) = find_trace_pk(tx, trace_id).await? else { return Ok(None) };
    let Some(info) = read_ops::load_infos(tx, &[trace_pk]).await?.pop() else { return Ok(None) };
    // The indexed columns only: the span JSON (`content`, TOASTed) is never read.
    let spans = rows(
        tx,
        "SELECT span_id, parent_span_id, name, span_type, status, start_time_ns, end_time_ns FROM spans
         WHERE trace_pk = $1 ORDER BY parent_span_id IS NOT NULL, start_time_ns, span_pk",
        &[&trace_pk],
    )
    .await?
    .iter()
    .map(|r| SpanSkeleton {
        span_id: hex_id(r.get(0)),
        parent_id: r.get::<_, Option<i64>>(1).map(hex_id),
        name: r.get(2),
        span_type: r.get(3),
        status_code: r.get(4),
        start_time_ns: r.get(5),
        end_time_ns: r.get(6),
    })
    .collect();
    Ok(Some((info, spans)))
}

/// `span_ids` are already parsed (the id bits as stored).
pub(crate) async fn get_spans(tx: &Tx<'_>, trace_id: &str, span_ids: &[i64]) -> StoreResult<Vec<Span>> {
    let Some(trace_pk) = find_trace_pk(tx, trace_id).await? else { return Ok(Vec::new()) };
    let mut spans = Vec::with_capacity(span_ids.len());
    for span_id in span_ids {
        let row = opt_row(tx, "SELECT content FROM spans WHERE trace_pk = $1 AND span_id = $2", &[&trace_pk, span_id]).await?;
        if let Some(row) = row {
            spans.push(payload::span_from_json(row.get::<_, &str>(0))?);
        }
    }
    Ok(spans)
}

/// Candidates through `ILIKE` on the span JSON (each of the query's verbatim fragments, the
/// trigram index or a scan of the trace's rows, as the planner sees fit), then the exact test
/// here, in skeleton order.
pub(crate) async fn search_span_ids_in_trace(
    tx: &Tx<'_>,
    trace_id: &str,
    query: &SpanTextQuery,
    limit: usize,
) -> StoreResult<Option<Vec<String>>> {
    let Some(trace_pk) = find_trace_pk(tx, trace_id).await? else { return Ok(None) };
    let patterns: Vec<String> = query
        .fragments()
        .iter()
        .map(|f| format!("%{}%", f.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")))
        .collect();
    let mut sql = String::from("SELECT span_id, name, content FROM spans WHERE trace_pk = $1");
    for i in 0..patterns.len() {
        sql.push_str(&format!(" AND content ILIKE ${} ESCAPE '\\'", i + 2));
    }
    sql.push_str(" ORDER BY parent_span_id IS NOT NULL, start_time_ns, span_pk");
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&trace_pk];
    params.extend(patterns.iter().map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync)));
    let mut found = Vec::new();
    for row in rows(tx, &sql, &params).await? {
        if found.len() == limit {
            break;
        }
        let hit = query.name_matches(row.get::<_, &str>(1)) || query.matches_json(row.get::<_, &str>(2))?;
        if hit {
            found.push(hex_id(row.get(0)));
        }
    }
    Ok(Some(found))
}
