//! Runs the `langchain_stand_in` seed example in its own process and checks what it asserts.

#[path = "../examples/langchain_stand_in.rs"]
mod sample;

#[test]
fn sample_runs_and_shows_what_the_seed_shows() {
    sample::main()
}
