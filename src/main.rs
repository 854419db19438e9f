//! The `workgate` command; everything it does lives in the library.

fn main() -> std::process::ExitCode {
    workgate::cli::main()
}
