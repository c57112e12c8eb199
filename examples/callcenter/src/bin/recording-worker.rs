//! The recording worker alone (`/healthz`, `/metrics`), configured like the all-in-one daemon.

fn main() -> std::process::ExitCode {
    callcenter::daemon::main_for(callcenter::daemon::Roles::RECORDINGS)
}
