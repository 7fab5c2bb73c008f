//! Runs the `configure_and_enable` seed example in its own process and checks what it asserts.

#[path = "../examples/configure_and_enable.rs"]
mod sample;

#[test]
fn sample_runs_and_shows_what_the_seed_shows() {
    sample::main()
}
