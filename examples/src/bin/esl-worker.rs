//! The ESL worker with the REST API and live events (`/healthz`, `/metrics`), configured like the all-in-one daemon.

fn main() -> std::process::ExitCode {
    examples::daemon::main_for(examples::daemon::Roles::ESL)
}
