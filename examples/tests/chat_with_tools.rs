//! Runs the `chat_with_tools` seed example in its own process and checks what it asserts.

#[path = "../examples/chat_with_tools.rs"]
mod sample;

#[test]
fn sample_runs_and_shows_what_the_seed_shows() {
    sample::main()
}
