//! Demo pages.
