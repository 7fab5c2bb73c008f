//! Runs the `manual_span_hierarchy` seed example in its own process and checks what it asserts.

#[path = "../examples/manual_span_hierarchy.rs"]
mod sample;

#[test]
fn sample_runs_and_shows_what_the_seed_shows() {
    sample::main()
}
