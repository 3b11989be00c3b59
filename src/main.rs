use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cityfix::cli::Cli::parse();
    match cityfix::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // The binary's edge: the whole error chain, for a person to read.
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
