//! Placeholder: wiring.
