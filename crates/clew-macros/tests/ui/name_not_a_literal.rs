const NAME: &str = "x";

#[clew::trace(name = NAME)]
fn f() {}

fn main() {
    f();
}
