use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cityfix::cli::Cli::parse();
    match cityfix::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // The binary's edge: the whole error chain, for a person to read,
            // less the causes an outer message already quotes.
            let mut text = err.to_string();
            for cause in err.chain().skip(1).map(ToString::to_string) {
                if !text.contains(&cause) {
                    text = format!("{text}: {cause}");
                }
            }
            eprintln!("error: {text}");
            std::process::ExitCode::FAILURE
        }
    }
}
