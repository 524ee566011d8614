//! The store room: SQLite, its schema, and the one thread that writes call history.
//!
//! It owns the database file under the data directory: devices, trunks, service
//! numbers, agents, skill groups, IVR flows, busy reasons and customers (read into a
//! [`Directory`](crate::core::Directory) for routing), and the facts that accumulate
//! (calls, the call trail, recordings, the agent status log, the audit log). It must never be
//! imported by `core`, and nothing outside this room names `rusqlite`.
//!
//! Two ways in: [`Store`] is one connection for set-up, admin changes and reads (the
//! daemon at start, the API, tests); [`spawn_writer`] starts the thread that applies
//! the switchboard's [`StoreOp`](crate::core::StoreOp)s in batches, so a slow disk
//! never stalls call handling for longer than the writer's queue takes to fill.
//!
//! The tricky parts: the schema changes only through `migrations/` (see `schema.rs`);
//! times are stored as fixed-width ISO-8601 UTC text (see `rows.rs`); recording paths
//! under the data directory are stored relative to it, so a moved data directory keeps
//! its recordings.

mod agents;
mod backup;
mod crm;
mod customers;
mod error;
mod flows;
mod lines;
mod live;
mod read;
mod records;
mod retention;
mod rows;
mod schema;
mod seed;
mod staff;
mod users;
mod write;
mod writer;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

pub use agents::{NewAgent, NewGroup};
pub use backup::{BackupCheck, check_backup, restore_database};
pub use crm::{
    CallFacts, CustomerCall, NewTicket, NewTicketType, OPEN_STATUSES, TICKET_PRIORITIES,
    TICKET_STATUSES, Ticket, TicketChange, TicketField, TicketFilter, TicketType, TypeRemoval,
};
pub use customers::{CardChange, CustomerCard, PIN_M_COST_KIB, PIN_P_COST, PIN_T_COST, verify_pin};
pub use error::StoreError;
pub use flows::NewFlow;
pub use lines::{
    NewServiceNumber, Removal, ServiceNumberInfo, TrunkInfo, UploadedPrompt, check_trunk,
    is_phone_number,
};
pub use live::{QueueFigures, StatusFilter, StatusLogRow};
pub use records::{
    CallFilter, CallResult, CallRow, ExportTask, FilterChoices, Handled, MissedReason, ResultFilter,
};
pub use retention::{StoredRecording, free_space};
pub use schema::SCHEMA_VERSION;
pub use seed::{
    DEMO_AFTER_SALES_GROUP_NAME, DEMO_AGENTS, DEMO_BUSY_REASONS, DEMO_FLOW_NAME, DEMO_GROUP_NAME,
    DEMO_SERVICE_NUMBER, DEMO_TRUNK_HOST, DEMO_TRUNK_NAME, DEMO_USERS, DemoSeed,
};
pub use staff::{
    AgentChange, AgentRecord, Conflict, DeviceChange, DeviceRecord, DeviceRef, GroupChange,
    GroupRecord, Named,
};
pub use users::{
    Account, FIRST_ADMIN, MAX_PASSWORD_CHARS, MIN_USER_PASSWORD_CHARS, NewUser, Role, UserChange,
    UserRecord,
};
pub use writer::{StoreWriter, spawn_writer};

use crate::core::{Codec, TrunkRegistration};

/// A device to add: a phone that registers (or a gateway at `static_contact`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewDevice {
    pub user: String,
    pub password: String,
    pub name: String,
    pub static_contact: Option<String>,
}

/// A trunk to add.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTrunk {
    pub name: String,
    pub host: String,
    pub inbound_peers: Vec<std::net::IpAddr>,
    pub outbound_proxy: Option<String>,
    pub register: Option<TrunkRegistration>,
    pub caller_id: String,
    pub codecs: Vec<Codec>,
}

/// One connection to the database. Not `Sync`: give each thread its own `Store`.
pub struct Store {
    conn: Connection,
    /// The directory holding the database; recording paths are stored relative to it.
    data_dir: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, creating its parent
    /// directory, and migrates it to this binary's schema. A database written by a newer
    /// callbox is refused with [`StoreError::TooNew`].
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let data_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if !data_dir.as_os_str().is_empty() {
            std::fs::create_dir_all(&data_dir).map_err(|source| StoreError::CreateDir {
                path: data_dir.clone(),
                source,
            })?;
        }
        let conn = schema::open_connection(path)?;
        Ok(Store { conn, data_dir })
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}
