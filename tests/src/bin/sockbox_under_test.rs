//! The `sockbox` CLI, built inside the tests crate so integration tests can spawn it.
fn main() -> std::process::ExitCode {
    sockbox::cli::main()
}
