//! The session demo (issue #5): not built yet. This binary is the target that
//! `cargo run --release` starts once the demo lands.

fn main() {
    eprintln!("session-demo: the demo web app is not implemented yet (see docs/architecture.md)");
    std::process::exit(2);
}
