//! Turning a body element into a call.
