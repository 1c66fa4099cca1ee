//! The `netpath` command: arguments in, library calls, rendered output and an exit code out.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
