//! The api room's error type: starting the server is all that can fail; a bad request
//! is answered with an HTTP status, never an error here.

use std::net::SocketAddr;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ApiError {
    /// The address is taken or not ours: the operator's configuration or machine.
    #[error("cannot listen for HTTP on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("cannot start the HTTP thread: {0}")]
    Spawn(#[source] std::io::Error),
}
