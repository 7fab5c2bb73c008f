//! `clew traces list | search | get`.

use crate::format::{self, Output};
use crate::store::{OpenMode, StoreLocation};
use crate::InvalidInput;
use anyhow::{anyhow, bail, Context as _};
use clap::Args;
use clew_model::filter::{parse_filter, parse_order_by_list, FilterError};
use clew_model::json::trace_json::{trace_info_to_dict, trace_to_json_pretty};
use clew_store::{SearchTracesRequest, SqliteStore, StoreError, TraceStore};

/// The newest traces first, unless `--order-by` says otherwise.
const DEFAULT_ORDER_BY: &str = "timestamp_ms DESC";
/// Characters of the request preview shown in a table cell.
const PREVIEW_CHARS: usize = 60;

/// Options shared by `traces list` and `traces search`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only traces in this experiment (by id); repeat for several. Default: every experiment.
    #[arg(long = "experiment", value_name = "ID", conflicts_with = "experiment_name")]
    pub experiment_ids: Vec<String>,
    /// Only traces in the experiment with this name.
    #[arg(long, value_name = "NAME")]
    pub experiment_name: Option<String>,
    /// At most this many traces.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=50_000))]
    pub max_results: u64,
    /// Sort key, e.g. "timestamp_ms DESC", "execution_time_ms ASC", "name"; repeat for ties.
    /// Default: timestamp_ms DESC (newest first).
    #[arg(long, value_name = "KEY [ASC|DESC]")]
    pub order_by: Vec<String>,
}

#[derive(Args, Debug)]
pub struct GetArgs {
    /// The trace id (tr-…).
    pub trace_id: String,
}

/// `traces list` (no filter) and `traces search` (a filter).
pub fn list(location: &StoreLocation, args: &ListArgs, filter: Option<&str>, output: Output) -> anyhow::Result<()> {
    // Check the syntax first so a typo is reported with its position even if the store is missing.
    if let Some(filter) = filter {
        parse_filter(filter).map_err(|e| invalid_filter(filter, &e))?;
    }
    let order_by = if args.order_by.is_empty() {
        vec![DEFAULT_ORDER_BY.to_string()]
    } else {
        args.order_by.clone()
    };
    parse_order_by_list(&order_by).map_err(|e| invalid_order_by(&order_by, &e))?;

    let store = location.open(OpenMode::MustExist)?;
    let experiment_ids = experiment_ids(&store, args)?;
    let request = SearchTracesRequest {
        experiment_ids,
        filter: filter.map(str::to_string),
        max_results: Some(args.max_results as usize),
        order_by,
        page_token: None,
    };
    let page = crate::runtime::block_on(store.search_traces(&request))?.map_err(|e| match e {
        StoreError::InvalidFilter(fe) => anyhow!(invalid_filter(filter.unwrap_or(""), &fe)),
        other => anyhow!(other).context(format!("search failed in {}", location.path.display())),
    })?;

    if output == Output::Json {
        let infos: Vec<_> = page.traces.iter().map(trace_info_to_dict).collect();
        return format::print_json(&serde_json::Value::Array(infos));
    }
    if page.traces.is_empty() {
        println!("No traces found in {}.", location.path.display());
        return Ok(());
    }
    let mut table = format::table(&[
        "Trace ID",
        "Name",
        "State",
        "Request time",
        "Duration",
        "Spans",
        "Tokens",
        "Request",
    ]);
    for info in &page.traces {
        table.add_row(vec![
            info.trace_id.clone(),
            format::trace_name(info).to_string(),
            info.state.to_string(),
            format::local_time_ms(info.request_time),
            format::or_dash(info.execution_duration.map(format::duration_ms)),
            format::or_dash(format::span_count(info)),
            format::or_dash(format::total_tokens(info)),
            format::truncate(info.request_preview.as_deref().unwrap_or(""), PREVIEW_CHARS),
        ]);
    }
    println!("{table}");
    let more = if page.next_page_token.is_some() {
        " (more match: raise --max-results)"
    } else {
        ""
    };
    println!("{} trace(s){more}", page.traces.len());
    Ok(())
}

/// The experiment ids to search: `--experiment`, the id of `--experiment-name`, or all.
fn experiment_ids(store: &SqliteStore, args: &ListArgs) -> anyhow::Result<Vec<String>> {
    let Some(name) = &args.experiment_name else {
        return Ok(args.experiment_ids.clone());
    };
    let found = crate::runtime::block_on(store.get_experiment_by_name(name))??;
    match found {
        Some(experiment) => Ok(vec![experiment.experiment_id]),
        None => bail!("no experiment named {name:?} (see `clew experiments list`)"),
    }
}

/// `traces get`: a span tree, or MLflow's trace JSON with `--json`.
pub fn get(location: &StoreLocation, args: &GetArgs, output: Output) -> anyhow::Result<()> {
    let store = location.open(OpenMode::MustExist)?;
    let trace = crate::runtime::block_on(store.get_trace(&args.trace_id))?
        .with_context(|| format!("cannot read trace {} from {}", args.trace_id, location.path.display()))?
        .ok_or_else(|| anyhow!("no trace {} in {}", args.trace_id, location.path.display()))?;
    match output {
        Output::Json => println!("{}", trace_to_json_pretty(&trace)),
        Output::Human => print!("{}", crate::span_tree::render(&trace)),
    }
    Ok(())
}

/// The filter with a caret under the position the parser reported.
fn invalid_filter(filter: &str, error: &FilterError) -> InvalidInput {
    InvalidInput(format!("{error}\n  {filter}\n  {}", caret(filter, error.position)))
}

fn invalid_order_by(order_by: &[String], error: &FilterError) -> InvalidInput {
    InvalidInput(format!("invalid --order-by {order_by:?}: {}", error.message))
}

/// Spaces up to the character at byte offset `position`, then `^`.
fn caret(text: &str, position: usize) -> String {
    let prefix = text.get(..position.min(text.len())).unwrap_or(text);
    format!("{}^", " ".repeat(prefix.chars().count()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caret_points_at_the_reported_position() {
        let filter = "trace.stat = 'OK'";
        let error = parse_filter(filter).unwrap_err();
        let message = invalid_filter(filter, &error).0;
        let lines: Vec<&str> = message.lines().collect();
        assert!(lines[0].contains(&format!("position {}", error.position)), "{message}");
        assert_eq!(lines[2].find('^').unwrap() - 2, error.position);
    }
}
