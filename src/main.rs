//! The `zonesync` binary.

fn main() -> std::process::ExitCode {
    zonesync::commands::main()
}
