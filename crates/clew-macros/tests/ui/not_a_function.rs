#[clew::trace]
struct Retriever {
    top_k: usize,
}

fn main() {
    let _ = Retriever { top_k: 1 };
}
