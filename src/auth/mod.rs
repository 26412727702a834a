//! The client side of auth.
