//! Runs the `retriever_documents` seed example in its own process and checks what it asserts.

#[path = "../examples/retriever_documents.rs"]
mod sample;

#[test]
fn sample_runs_and_shows_what_the_seed_shows() {
    sample::main()
}
