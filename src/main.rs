//! The `callbox` command line; everything else is in the library.

fn main() {
    println!("callbox {}", env!("CARGO_PKG_VERSION"));
}
