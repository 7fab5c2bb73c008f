#[clew::trace(name = "ok", spantype = "LLM")]
fn f() {}

fn main() {
    f();
}
