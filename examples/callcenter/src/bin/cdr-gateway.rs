//! The CDR gateway alone (`POST /cdr`, `/healthz`, `/metrics`), configured like the all-in-one
//! daemon.

fn main() -> std::process::ExitCode {
    callcenter::daemon::main_for(callcenter::daemon::Roles::CDR)
}
