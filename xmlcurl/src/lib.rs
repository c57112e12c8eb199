//! Typed requests and response documents for FreeSWITCH `mod_xml_curl`.
//!
//! FreeSWITCH POSTs a form describing what it needs (a directory user, a dialplan for a
//! destination, a configuration file) and blocks a SIP or channel thread until it gets an XML
//! document back. This crate will parse those forms into typed requests and build documents that
//! are always well-formed and escaped. It is not implemented yet.
