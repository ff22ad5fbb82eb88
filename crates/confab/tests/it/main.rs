//! End-to-end tests of the `confab` binary: each test starts the real
//! server on a temporary data directory and talks to it over loopback HTTP,
//! as an SDK would.
//!
//! One binary (STYLE §14.2), one module per topic; `support` holds the
//! server, the client and the request builders.

#![allow(clippy::unwrap_used)]

mod callbacks;
mod cancellation;
mod clock;
mod concurrency;
mod conversations;
mod durability;
mod error_codes;
mod fairness;
mod isolation;
mod objects;
mod receiver;
mod results;
mod retention;
mod scheduling;
mod soap_front;
mod support;
mod timeouts;
