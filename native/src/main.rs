//! The `sockbox` binary: see [`sockbox::cli`].
fn main() -> std::process::ExitCode {
    sockbox::cli::main()
}
