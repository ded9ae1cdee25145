pub(crate) fn run(_a: VerifyArgs) -> std::process::ExitCode { std::process::ExitCode::FAILURE }
#[derive(clap::Args, Debug)]
pub(crate) struct VerifyArgs { input: std::path::PathBuf }
