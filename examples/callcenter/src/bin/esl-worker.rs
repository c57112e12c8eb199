//! The ESL worker with the REST API and live events (`/healthz`, `/metrics`), configured like the all-in-one daemon.

fn main() -> std::process::ExitCode {
    callcenter::daemon::main_for(callcenter::daemon::Roles::ESL)
}
