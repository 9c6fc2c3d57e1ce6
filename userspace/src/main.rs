//! `rampart`: the Rampart appliance's daemon and command-line tool.

fn main() -> std::process::ExitCode {
    rampart::cli::main()
}
