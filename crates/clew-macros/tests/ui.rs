//! Compile errors of `#[clew::trace]`: each points at the offending token.

#[test]
fn misuse_is_a_compile_error_with_a_span() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
