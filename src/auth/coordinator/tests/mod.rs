//! The coordinator's behaviour, pinned down against a scripted fake server and a manual clock:
//! one file per behaviour, sharing the world in `support`.

mod support;

mod challenges;
mod crossing_messages;
mod idle;
mod proactive;
mod refresh_failures;
mod restore;
mod sending;
mod server_functions;
mod session_changes;
mod single_flight;
mod tabs;
