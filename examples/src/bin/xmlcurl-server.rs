//! The xml_curl server alone (`POST /fsapi`, `/healthz`, `/metrics`), configured like the
//! all-in-one daemon.

fn main() -> std::process::ExitCode {
    examples::daemon::main_for(examples::daemon::Roles::XML_CURL)
}
