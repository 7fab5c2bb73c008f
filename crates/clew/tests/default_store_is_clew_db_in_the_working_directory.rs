//! With no configuration, traces go to `clew.db` in the working directory — the file
//! `clew server` and the CLI read by default.

#[test]
fn with_nothing_configured_traces_land_in_clew_db_here() {
    std::env::remove_var("MLFLOW_TRACKING_URI");
    std::env::remove_var("MLFLOW_EXPERIMENT_NAME");
    std::env::remove_var("MLFLOW_EXPERIMENT_ID");
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    let id = {
        let root = clew::start_span("default_destination");
        root.trace_id()
    };
    let trace = clew::get_trace(&id).expect("read back from the default store");
    assert_eq!(trace.info.experiment_id(), Some("0"));
    assert!(dir.path().join("clew.db").is_file(), "clew.db is created in the working directory");
}
