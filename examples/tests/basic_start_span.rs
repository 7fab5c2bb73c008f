//! Runs the `basic_start_span` seed example in its own process and checks what it asserts.

#[path = "../examples/basic_start_span.rs"]
mod sample;

#[test]
fn sample_runs_and_shows_what_the_seed_shows() {
    sample::main()
}
