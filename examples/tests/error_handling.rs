//! Runs the `error_handling` seed example in its own process and checks what it asserts.

#[path = "../examples/error_handling.rs"]
mod sample;

#[test]
fn sample_runs_and_shows_what_the_seed_shows() {
    sample::main()
}
