//! The xml_curl server alone (`POST /fsapi`, `/healthz`, `/metrics`), configured like the
//! all-in-one daemon.

fn main() -> std::process::ExitCode {
    callcenter::daemon::main_for(callcenter::daemon::Roles::XML_CURL)
}
