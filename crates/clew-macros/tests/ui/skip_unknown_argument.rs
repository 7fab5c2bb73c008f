#[clew::trace(skip(client, qurey))]
fn search(client: &str, query: &str) -> usize {
    client.len() + query.len()
}

fn main() {
    search("c", "q");
}
