//! `clew`: look at traces in a clew (or MLflow-compatible) trace store from the terminal.
//!
//! ```text
//! clew demo                                   # write example traces through the SDK
//! clew traces list                            # newest traces, as a table
//! clew traces search --filter "trace.status = 'ERROR'"
//! clew traces get tr-0123…                    # a span tree; --json for MLflow's trace JSON
//! clew experiments list | create NAME
//! clew server --port 5000                     # the MLflow-compatible tracking server
//! ```
//!
//! The store is `--store URI`, else `CLEW_STORE`, else `MLFLOW_TRACKING_URI` when it is a
//! `sqlite:` URI, else `sqlite:///clew.db` (the SDK's default file).
//!
//! Exit codes: 0 success, 1 failure (store, not found, already exists), 2 invalid input
//! (command line, filter or order_by syntax).

mod demo;
mod experiments;
mod format;
mod runtime;
mod server;
mod span_tree;
mod store;
mod traces;

use clap::{Args, Parser, Subcommand};
use std::process::ExitCode;

/// Look at traces in a clew trace store.
#[derive(Parser, Debug)]
#[command(name = "clew", version, about, long_about = None)]
struct Cli {
    /// Trace store URI (sqlite:///relative/path.db, sqlite:////absolute/path.db) or a path to a store
    /// file. Default: CLEW_STORE, else MLFLOW_TRACKING_URI if it is a sqlite: URI, else
    /// sqlite:///clew.db (the SDK's default store).
    #[arg(long, global = true, env = "CLEW_STORE", value_name = "URI")]
    store: Option<String>,

    /// Print machine-readable JSON instead of tables and trees.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List, search and show traces.
    #[command(subcommand)]
    Traces(TracesCommand),
    /// List and create experiments.
    #[command(subcommand)]
    Experiments(ExperimentsCommand),
    /// Write a realistic set of example traces to the store through the clew SDK.
    Demo(demo::DemoArgs),
    /// Serve the MLflow REST API and OTLP trace ingest over the store (sqlite or postgresql).
    ///
    /// The store is --store / CLEW_STORE: sqlite:///relative.db, sqlite:////absolute.db, a file
    /// path, or (for the server only) postgresql://user:password@host:port/database. The default
    /// is sqlite:///clew.db, the file the SDK writes, so traces an app logged locally show up.
    /// Point the mlflow client at it with MLFLOW_TRACKING_URI=http://HOST:PORT. SIGINT/SIGTERM
    /// stop it gracefully: no new connections, requests in flight finished, writes committed.
    Server(server::ServerArgs),
}

#[derive(Subcommand, Debug)]
enum TracesCommand {
    /// The newest traces (or those an --order-by picks).
    List(traces::ListArgs),
    /// Traces matching an MLflow filter string.
    Search(SearchArgs),
    /// One trace as a span tree (--json: MLflow's trace JSON).
    Get(traces::GetArgs),
}

#[derive(Args, Debug)]
struct SearchArgs {
    /// MLflow search filter, e.g. "trace.status = 'ERROR' AND tags.env = 'prod'".
    #[arg(long, short = 'f', value_name = "FILTER")]
    filter: String,
    #[command(flatten)]
    list: traces::ListArgs,
}

#[derive(Subcommand, Debug)]
enum ExperimentsCommand {
    /// Every active experiment with its trace count.
    List,
    /// Create an experiment and print its id.
    Create(experiments::CreateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            if error.downcast_ref::<InvalidInput>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // The server takes PostgreSQL URIs too, so it resolves its store itself.
    if let Command::Server(args) = &cli.command {
        return server::run(cli.store.as_deref(), args);
    }
    let location = store::StoreLocation::resolve(cli.store.as_deref())?;
    let output = if cli.json {
        format::Output::Json
    } else {
        format::Output::Human
    };
    match cli.command {
        Command::Traces(TracesCommand::List(args)) => traces::list(&location, &args, None, output),
        Command::Traces(TracesCommand::Search(args)) => traces::list(&location, &args.list, Some(&args.filter), output),
        Command::Traces(TracesCommand::Get(args)) => traces::get(&location, &args, output),
        Command::Experiments(ExperimentsCommand::List) => experiments::list(&location, output),
        Command::Experiments(ExperimentsCommand::Create(args)) => experiments::create(&location, &args, output),
        Command::Demo(args) => demo::run(&location, &args, output),
        Command::Server(args) => server::run(cli.store.as_deref(), &args),
    }
}

/// Input the user can fix (a filter or order_by with a syntax error): exit code 2.
#[derive(Debug)]
pub struct InvalidInput(pub String);

impl std::fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidInput {}
