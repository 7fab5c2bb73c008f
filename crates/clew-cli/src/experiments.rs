//! `clew experiments list | create`.

use crate::format::{self, Output};
use crate::store::{OpenMode, StoreLocation};
use anyhow::{anyhow, bail};
use clap::Args;
use clew_store::{SearchTracesRequest, SqliteStore, StoreError, TraceStore};
use serde_json::json;

/// Counting stops here; more is shown as `50000+`.
const MAX_COUNTED_TRACES: usize = clew_store::sqlite::MAX_RESULTS_LIMIT;

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// The new experiment's name (must not be taken).
    pub name: String,
}

/// The number of traces in an experiment (a search without spans), and whether there are
/// more than were counted.
fn count_traces(store: &SqliteStore, experiment_id: &str) -> anyhow::Result<(usize, bool)> {
    let request = SearchTracesRequest {
        experiment_ids: vec![experiment_id.to_string()],
        max_results: Some(MAX_COUNTED_TRACES),
        ..Default::default()
    };
    let page = crate::runtime::block_on(store.search_traces(&request))??;
    Ok((
        page.traces.len(),
        page.next_page_token.is_some() && page.traces.len() == MAX_COUNTED_TRACES,
    ))
}

pub fn list(location: &StoreLocation, output: Output) -> anyhow::Result<()> {
    let store = location.open(OpenMode::MustExist)?;
    let experiments = crate::runtime::block_on(store.list_experiments())??;
    let mut rows = Vec::with_capacity(experiments.len());
    for experiment in &experiments {
        rows.push((experiment, count_traces(&store, &experiment.experiment_id)?));
    }
    if output == Output::Json {
        let items: Vec<_> = rows
            .iter()
            .map(|(e, (count, more))| {
                json!({
                    "experiment_id": e.experiment_id,
                    "name": e.name,
                    "artifact_location": e.artifact_location,
                    "lifecycle_stage": e.lifecycle_stage,
                    "creation_time": e.creation_time,
                    "last_update_time": e.last_update_time,
                    "tags": e.tags,
                    "trace_count": count,
                    "trace_count_is_lower_bound": more,
                })
            })
            .collect();
        return format::print_json(&serde_json::Value::Array(items));
    }
    let mut table = format::table(&["ID", "Name", "Traces", "Artifact location"]);
    for (e, (count, more)) in &rows {
        let count = if *more { format!("{count}+") } else { count.to_string() };
        table.add_row(vec![
            e.experiment_id.clone(),
            e.name.clone(),
            count,
            e.artifact_location.clone(),
        ]);
    }
    println!("{table}");
    Ok(())
}

pub fn create(location: &StoreLocation, args: &CreateArgs, output: Output) -> anyhow::Result<()> {
    let name = args.name.trim();
    if name.is_empty() {
        return Err(anyhow!(crate::InvalidInput(
            "the experiment name must not be empty".into()
        )));
    }
    let store = location.open(OpenMode::CreateIfMissing)?;
    let id = match crate::runtime::block_on(store.create_experiment(name, None))? {
        Ok(id) => id,
        Err(StoreError::AlreadyExists(_)) => {
            let existing = crate::runtime::block_on(store.get_experiment_by_name(name))?
                .ok()
                .flatten();
            match existing {
                Some(e) => bail!("an experiment named {name:?} already exists (id {})", e.experiment_id),
                None => bail!("an experiment named {name:?} already exists (it may be deleted)"),
            }
        }
        Err(e) => return Err(anyhow!(e).context(format!("cannot create experiment {name:?}"))),
    };
    match output {
        Output::Json => format::print_json(&json!({"experiment_id": id, "name": name})),
        Output::Human => {
            println!("{id}");
            Ok(())
        }
    }
}
