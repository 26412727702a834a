//! Reusable view pieces.

pub mod demo_controls;
pub mod explainer;
pub mod flow_log;
pub mod grace_or_theft;
pub mod header;
pub mod idle_warning;
pub mod inspector;
pub mod naive;
pub mod numbers;
pub mod require_auth;
pub mod resource_card;
pub mod waterfall;
