//! Prints the determinism corpus natively; the wasm build must print the same bytes.
//! `cargo run --release -p sockbox-wasm --example traces > native.txt`

fn main() {
    print!("{}", sockbox_wasm::corpus::traces());
}
