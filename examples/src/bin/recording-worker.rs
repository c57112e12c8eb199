//! The recording worker alone (`/healthz`, `/metrics`), configured like the all-in-one daemon.

fn main() -> std::process::ExitCode {
    examples::daemon::main_for(examples::daemon::Roles::RECORDINGS)
}
