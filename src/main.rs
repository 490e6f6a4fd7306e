use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = sessiond::cli::Cli::parse();
    match sessiond::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("sessiond: {msg}");
            std::process::ExitCode::FAILURE
        }
    }
}
