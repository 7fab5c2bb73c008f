//! With no configuration, traces go to `clew.db` in the working directory — the file
//! `clew server` and the CLI read by default — created by the first trace, not before.

#[test]
fn with_nothing_configured_traces_land_in_clew_db_here() {
    std::env::remove_var("MLFLOW_TRACKING_URI");
    std::env::remove_var("MLFLOW_EXPERIMENT_NAME");
    std::env::remove_var("MLFLOW_EXPERIMENT_ID");
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    // Flushing before any trace (as an exit hook does) must not create the store file: a
    // program that imports tracing but never traces leaves no clew.db behind.
    assert!(clew::flush_timeout(std::time::Duration::from_secs(5)));
    assert!(!dir.path().join("clew.db").exists(), "no trace yet, so no clew.db");
    let id = {
        let root = clew::start_span("default_destination");
        root.trace_id()
    };
    let trace = clew::get_trace(&id).expect("read back from the default store");
    assert_eq!(trace.info.experiment_id(), Some("0"));
    assert!(dir.path().join("clew.db").is_file(), "clew.db is created in the working directory");
}
