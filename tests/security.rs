//! The security suite: one test per attack, grouped by area, each naming the attack it tries and
//! the RFC or OWASP text it checks against. The README's checklist maps attacks to these tests.

mod common;

#[path = "security/brute_force.rs"]
mod brute_force;
#[path = "security/cookies.rs"]
mod cookies;
#[path = "security/disconnect_floods.rs"]
mod disconnect_floods;
