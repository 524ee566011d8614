//! Placeholder: the switchboard state machine is being written.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{Directory, Input, Now, Output};

/// Settings the switchboard needs that do not live in the directory.
#[derive(Debug, Clone)]
pub struct SwitchboardConfig {
    /// Record every answered call.
    pub record: bool,
    /// The data directory; recordings go under `recordings/` in it and call rows
    /// name them relative to it.
    pub data_dir: PathBuf,
    /// The first call id to use (one more than the store's highest).
    pub first_call_id: i64,
    /// How long an outgoing leg may ring before it is cancelled.
    pub ring_timeout: Duration,
}

/// The call state machine; see the module docs for the driving contract.
pub struct Switchboard {
    config: SwitchboardConfig,
    directory: Directory,
    outputs: VecDeque<Output>,
}

impl Switchboard {
    pub fn new(config: SwitchboardConfig, directory: Directory) -> Switchboard {
        Switchboard {
            config,
            directory,
            outputs: VecDeque::new(),
        }
    }

    pub fn handle(&mut self, _now: Now, _input: Input) {
        let _ = (&self.config, &self.directory);
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}
