//! Runs the `tracing_api_functions` seed example in its own process and checks what it asserts.

#[path = "../examples/tracing_api_functions.rs"]
mod sample;

#[test]
fn sample_runs_and_shows_what_the_seed_shows() {
    sample::main()
}
