//! Placeholder: configuration.
