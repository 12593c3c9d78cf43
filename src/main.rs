use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    oversight::cli::run().await
}
