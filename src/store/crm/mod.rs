//! Tickets (工单) and their admin-defined types, a customer's history (calls by
//! number, open tickets), what the screen pop reads of a call, and which numbers and
//! calls an agent may see (`api/crm/`). Customer cards themselves are
//! `customers.rs`. `checks.rs` holds the field checks, `history.rs` the reads by
//! number and by call.
//!
//! Every write checks every field first and refuses with [`StoreError::Invalid`]
//! naming it; text is stored exactly as given (bound, never spliced into SQL). A
//! ticket type carries the extra fields its tickets must fill in; a ticket's values
//! are checked against its type's list when it is written, so a stored ticket always
//! fits the type it had then (a type edited later does not rewrite old tickets).
//!
//! Must not touch routing data: none of these tables bumps the directory version.

mod checks;
mod history;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use rusqlite::{TransactionBehavior, params};
use serde_json::{Map, Value};

use super::customers::check_number_field;
use super::rows::{bad, time_from_sql, time_to_sql};
use super::{Store, StoreError};
use crate::core::CallEventRecord;
pub(super) use checks::{check_line, check_text};
use checks::{check_title, check_type, check_values, check_word};
use history::agent_had_call;

/// A ticket's priorities, lowest first.
pub const TICKET_PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];
/// A ticket's statuses, in the order a ticket usually goes through them.
pub const TICKET_STATUSES: [&str; 4] = ["open", "processing", "resolved", "closed"];
/// The statuses that count as open (the screen pop's "open tickets").
pub const OPEN_STATUSES: [&str; 2] = ["open", "processing"];

/// Limits of ticket types and tickets, in characters (or items).
pub const TYPE_NAME_CHARS: usize = 32;
pub const TYPE_FIELDS: usize = 10;
pub const FIELD_NAME_CHARS: usize = 32;
pub const FIELD_OPTIONS: usize = 20;
pub const OPTION_CHARS: usize = 32;
pub const TITLE_CHARS: usize = 100;
pub const DESCRIPTION_CHARS: usize = 4000;
pub const FIELD_VALUE_CHARS: usize = 500;

/// One extra field of a ticket type: a free text, or one of `options` when any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketField {
    pub name: String,
    pub required: bool,
    pub options: Vec<String>,
}

/// A kind of ticket (咨询, 投诉, 报修...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketType {
    pub id: i64,
    pub name: String,
    pub fields: Vec<TicketField>,
    pub enabled: bool,
    /// How many tickets have this type.
    pub tickets: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A ticket type to add, or what to replace one with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicketType {
    pub name: String,
    pub fields: Vec<TicketField>,
    pub enabled: bool,
}

/// What removing a ticket type did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeRemoval {
    Removed,
    /// Tickets have the type; it was kept (disable it instead).
    InUse {
        tickets: u64,
    },
}

/// A ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: i64,
    pub type_id: i64,
    pub type_name: String,
    pub title: String,
    pub description: String,
    pub priority: String,
    pub status: String,
    pub customer: Option<String>,
    pub call: Option<i64>,
    /// The agent number who opened it.
    pub agent: Option<String>,
    /// Who opened it (a login name; "" for the command line).
    pub created_by: String,
    /// The type's extra fields, in the type's order as it was when written.
    pub fields: Vec<(String, String)>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A ticket to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    pub type_id: i64,
    pub title: String,
    pub description: String,
    pub priority: String,
    pub status: String,
    /// The customer's number; when `None` and `call` is given, the call's customer.
    pub customer: Option<String>,
    pub call: Option<i64>,
    pub agent: Option<String>,
    pub created_by: String,
    pub fields: Vec<(String, String)>,
}

/// A change to a ticket: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketChange {
    pub type_id: Option<i64>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub priority: Option<String>,
    pub status: Option<String>,
    pub fields: Option<Vec<(String, String)>>,
}

/// Which tickets to list. `visible_to` (an agent number) keeps only that agent's
/// own tickets and those of customers they have had calls with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    pub customer: Option<String>,
    pub status: Option<String>,
    pub agent: Option<String>,
    pub type_id: Option<i64>,
    pub call: Option<i64>,
    pub visible_to: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

/// One call of a customer's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerCall {
    pub id: i64,
    pub direction: String,
    pub from_number: String,
    pub to_number: String,
    pub service_number: Option<String>,
    pub started_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_cause: Option<String>,
    pub hangup_by: Option<String>,
    pub agent: Option<String>,
    pub agent_name: Option<String>,
    pub group: Option<String>,
    pub wait_secs: Option<u32>,
    pub recorded: bool,
}

/// What the screen pop reads of one call: its row with the agent and group named,
/// and its trail.
#[derive(Debug, Clone, PartialEq)]
pub struct CallFacts {
    pub call: CustomerCall,
    pub trail: Vec<CallEventRecord>,
}

impl CustomerCall {
    /// The customer's side of the call: the caller of an inbound (or internal) call,
    /// the called number of an outbound one.
    pub fn customer_number(&self) -> &str {
        if self.direction == "outbound" {
            &self.to_number
        } else {
            &self.from_number
        }
    }
}

impl Store {
    /// Every ticket type, by name.
    pub fn ticket_types(&self) -> Result<Vec<TicketType>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.id, t.name, t.fields, t.enabled, t.created_at, t.updated_at,
                    (SELECT count(*) FROM tickets k WHERE k.type_id = t.id)
             FROM ticket_types t ORDER BY t.name, t.id",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(type_from_row(r)?);
        }
        Ok(out)
    }

    pub fn ticket_type(&self, id: i64) -> Result<Option<TicketType>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.id, t.name, t.fields, t.enabled, t.created_at, t.updated_at,
                    (SELECT count(*) FROM tickets k WHERE k.type_id = t.id)
             FROM ticket_types t WHERE t.id = ?1",
        )?;
        let mut rows = stmt.query(params![id])?;
        rows.next()?.map(type_from_row).transpose()
    }

    /// Adds a ticket type; a taken name is [`StoreError::Invalid`] naming `name`.
    pub fn add_ticket_type(&mut self, t: &NewTicketType) -> Result<TicketType, StoreError> {
        check_type(t)?;
        let now = time_to_sql(&Utc::now());
        let done = self.conn.execute(
            "INSERT INTO ticket_types (name, fields, enabled, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
            params![t.name, fields_to_sql(&t.fields), t.enabled, now],
        );
        match done {
            Err(e) if StoreError::is_unique_violation(&e) => Err(name_taken(&t.name)),
            Err(e) => Err(e.into()),
            Ok(_) => {
                let id = self.conn.last_insert_rowid();
                self.ticket_type(id)?.ok_or_else(|| type_not_found(id))
            }
        }
    }

    /// Replaces ticket type `id` (its tickets keep their values).
    pub fn update_ticket_type(
        &mut self,
        id: i64,
        t: &NewTicketType,
    ) -> Result<TicketType, StoreError> {
        check_type(t)?;
        let now = time_to_sql(&Utc::now());
        let done = self.conn.execute(
            "UPDATE ticket_types SET name = ?2, fields = ?3, enabled = ?4, updated_at = ?5
             WHERE id = ?1",
            params![id, t.name, fields_to_sql(&t.fields), t.enabled, now],
        );
        match done {
            Err(e) if StoreError::is_unique_violation(&e) => Err(name_taken(&t.name)),
            Err(e) => Err(e.into()),
            Ok(0) => Err(type_not_found(id)),
            Ok(_) => self.ticket_type(id)?.ok_or_else(|| type_not_found(id)),
        }
    }

    /// Removes ticket type `id`, unless tickets have it.
    pub fn remove_ticket_type(&mut self, id: i64) -> Result<TypeRemoval, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let used: i64 = tx.query_row(
            "SELECT count(*) FROM tickets WHERE type_id = ?1",
            params![id],
            |r| r.get(0),
        )?;
        if used > 0 {
            return Ok(TypeRemoval::InUse {
                tickets: u64::try_from(used).unwrap_or(0),
            });
        }
        if tx.execute("DELETE FROM ticket_types WHERE id = ?1", params![id])? == 0 {
            return Err(type_not_found(id));
        }
        tx.commit()?;
        Ok(TypeRemoval::Removed)
    }

    /// Opens a ticket. Refusals name the field: `type` (unknown or disabled), `title`,
    /// `description`, `priority`, `status`, `customer`, `call` (no such call), `fields`.
    pub fn add_ticket(&mut self, t: &NewTicket) -> Result<Ticket, StoreError> {
        let ty = self
            .ticket_type(t.type_id)?
            .ok_or_else(|| invalid("type", format!("no ticket type has the id {}", t.type_id)))?;
        if !ty.enabled {
            return Err(invalid(
                "type",
                format!("the ticket type {:?} is disabled", ty.name),
            ));
        }
        check_title(&t.title)?;
        check_text("description", &t.description, DESCRIPTION_CHARS)?;
        check_word("priority", &t.priority, &TICKET_PRIORITIES)?;
        check_word("status", &t.status, &TICKET_STATUSES)?;
        let fields = check_values(&ty.fields, &t.fields)?;
        let mut customer = match &t.customer {
            Some(n) => Some(check_number_field("customer", n)?.to_owned()),
            None => None,
        };
        if let Some(call) = t.call {
            let facts = self
                .crm_call_row(call)?
                .ok_or_else(|| invalid("call", format!("no call has the id {call}")))?;
            if customer.is_none() {
                customer = Some(facts.customer_number().to_owned());
            }
        }
        let now = time_to_sql(&Utc::now());
        self.conn.execute(
            "INSERT INTO tickets (type_id, title, description, priority, status, customer,
                                  call_id, agent, created_by, fields, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
            params![
                t.type_id,
                t.title,
                t.description,
                t.priority,
                t.status,
                customer,
                t.call,
                t.agent,
                t.created_by,
                values_to_sql(&fields),
                now
            ],
        )?;
        let id = self.conn.last_insert_rowid();
        self.ticket(id)?.ok_or_else(|| ticket_not_found(id))
    }

    /// Changes ticket `id`; [`StoreError::NotFound`] when there is none. A new type
    /// (or new field values) is checked as a new ticket's would be.
    pub fn update_ticket(&mut self, id: i64, c: &TicketChange) -> Result<Ticket, StoreError> {
        let old = self.ticket(id)?.ok_or_else(|| ticket_not_found(id))?;
        if let Some(title) = &c.title {
            check_title(title)?;
        }
        if let Some(d) = &c.description {
            check_text("description", d, DESCRIPTION_CHARS)?;
        }
        if let Some(p) = &c.priority {
            check_word("priority", p, &TICKET_PRIORITIES)?;
        }
        if let Some(s) = &c.status {
            check_word("status", s, &TICKET_STATUSES)?;
        }
        let fields = match (c.type_id, &c.fields) {
            (None, None) => None,
            (type_id, values) => {
                let type_id = type_id.unwrap_or(old.type_id);
                let ty = self.ticket_type(type_id)?.ok_or_else(|| {
                    invalid("type", format!("no ticket type has the id {type_id}"))
                })?;
                if !ty.enabled && type_id != old.type_id {
                    return Err(invalid(
                        "type",
                        format!("the ticket type {:?} is disabled", ty.name),
                    ));
                }
                let values = values.as_ref().unwrap_or(&old.fields);
                Some(values_to_sql(&check_values(&ty.fields, values)?))
            }
        };
        let now = time_to_sql(&Utc::now());
        self.conn.execute(
            "UPDATE tickets SET type_id = coalesce(?2, type_id), title = coalesce(?3, title),
                 description = coalesce(?4, description), priority = coalesce(?5, priority),
                 status = coalesce(?6, status), fields = coalesce(?7, fields), updated_at = ?8
             WHERE id = ?1",
            params![
                id,
                c.type_id,
                c.title,
                c.description,
                c.priority,
                c.status,
                fields,
                now
            ],
        )?;
        self.ticket(id)?.ok_or_else(|| ticket_not_found(id))
    }

    pub fn ticket(&self, id: i64) -> Result<Option<Ticket>, StoreError> {
        let sql = format!("SELECT {TICKET_COLUMNS} FROM {TICKET_JOINS} WHERE k.id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![id])?;
        rows.next()?.map(ticket_from_row).transpose()
    }

    /// The tickets `f` asks for, newest first, and how many match in all.
    pub fn tickets(&self, f: &TicketFilter) -> Result<(Vec<Ticket>, u64), StoreError> {
        let visible = format!(
            "(?6 IS NULL OR k.agent = ?6 OR (k.customer IS NOT NULL AND EXISTS (
                SELECT 1 FROM calls c WHERE (c.from_number = k.customer
                    OR c.to_number = k.customer) AND {})))",
            agent_had_call("c", "6")
        );
        let filter = format!(
            "(?1 IS NULL OR k.customer = ?1) AND (?2 IS NULL OR k.status = ?2)
             AND (?3 IS NULL OR k.agent = ?3) AND (?4 IS NULL OR k.type_id = ?4)
             AND (?5 IS NULL OR k.call_id = ?5) AND {visible}"
        );
        let args = params![
            f.customer,
            f.status,
            f.agent,
            f.type_id,
            f.call,
            f.visible_to
        ];
        let total: i64 = self.conn.query_row(
            &format!("SELECT count(*) FROM tickets k WHERE {filter}"),
            args,
            |r| r.get(0),
        )?;
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM {TICKET_JOINS} WHERE {filter}
             ORDER BY k.id DESC LIMIT ?7 OFFSET ?8"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![
            f.customer,
            f.status,
            f.agent,
            f.type_id,
            f.call,
            f.visible_to,
            i64::try_from(f.limit).unwrap_or(i64::MAX),
            i64::try_from(f.offset).unwrap_or(i64::MAX)
        ])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(ticket_from_row(r)?);
        }
        Ok((out, u64::try_from(total).unwrap_or(0)))
    }
}
const TICKET_COLUMNS: &str = "k.id, k.type_id, t.name, k.title, k.description, k.priority,
    k.status, k.customer, k.call_id, k.agent, k.created_by, k.fields, k.created_at,
    k.updated_at, t.fields";
const TICKET_JOINS: &str = "tickets k JOIN ticket_types t ON t.id = k.type_id";

fn invalid(field: &'static str, message: String) -> StoreError {
    StoreError::Invalid { field, message }
}

fn name_taken(name: &str) -> StoreError {
    invalid("name", format!("a ticket type is already named {name:?}"))
}

fn type_not_found(id: i64) -> StoreError {
    StoreError::NotFound {
        what: "ticket type",
        value: id.to_string(),
    }
}

fn ticket_not_found(id: i64) -> StoreError {
    StoreError::NotFound {
        what: "ticket",
        value: id.to_string(),
    }
}

fn fields_to_sql(fields: &[TicketField]) -> String {
    Value::Array(
        fields
            .iter()
            .map(|f| {
                serde_json::json!({
                    "name": f.name,
                    "required": f.required,
                    "options": f.options,
                })
            })
            .collect(),
    )
    .to_string()
}

fn fields_from_sql(text: &str, key: &str) -> Result<Vec<TicketField>, StoreError> {
    let broken = || bad("ticket_types", key, format!("fields {text:?}"));
    let list: Vec<Value> = serde_json::from_str(text).map_err(|_| broken())?;
    list.iter()
        .map(|f| {
            Ok(TicketField {
                name: f["name"].as_str().ok_or_else(broken)?.to_owned(),
                required: f["required"].as_bool().unwrap_or(false),
                options: f["options"]
                    .as_array()
                    .map(|o| {
                        o.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// The values as the JSON object the schema holds (serde_json sorts its keys; the
/// type's order comes back on reading, see `ticket_from_row`).
fn values_to_sql(values: &[(String, String)]) -> String {
    let map: Map<String, Value> = values
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    Value::Object(map).to_string()
}

fn type_from_row(r: &rusqlite::Row<'_>) -> Result<TicketType, StoreError> {
    let id: i64 = r.get(0)?;
    let key = format!("id {id}");
    Ok(TicketType {
        id,
        name: r.get(1)?,
        fields: fields_from_sql(&r.get::<_, String>(2)?, &key)?,
        enabled: r.get(3)?,
        created_at: time_from_sql(&r.get::<_, String>(4)?, "ticket_types", &key)?,
        updated_at: time_from_sql(&r.get::<_, String>(5)?, "ticket_types", &key)?,
        tickets: u64::try_from(r.get::<_, i64>(6)?).unwrap_or(0),
    })
}

fn ticket_from_row(r: &rusqlite::Row<'_>) -> Result<Ticket, StoreError> {
    let id: i64 = r.get(0)?;
    let key = format!("id {id}");
    let text: String = r.get(11)?;
    let map: Map<String, Value> = serde_json::from_str(&text)
        .map_err(|e| bad("tickets", &key, format!("fields {text:?}: {e}")))?;
    // In the type's order; values of fields the type no longer has come last.
    let order: Vec<String> = fields_from_sql(&r.get::<_, String>(14)?, &key)?
        .into_iter()
        .map(|f| f.name)
        .collect();
    let mut fields: Vec<(String, String)> = map
        .into_iter()
        .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
        .collect();
    fields.sort_by_key(|(k, _)| order.iter().position(|n| n == k).unwrap_or(usize::MAX));
    Ok(Ticket {
        id,
        type_id: r.get(1)?,
        type_name: r.get(2)?,
        title: r.get(3)?,
        description: r.get(4)?,
        priority: r.get(5)?,
        status: r.get(6)?,
        customer: r.get(7)?,
        call: r.get(8)?,
        agent: r.get(9)?,
        created_by: r.get(10)?,
        fields,
        created_at: time_from_sql(&r.get::<_, String>(12)?, "tickets", &key)?,
        updated_at: time_from_sql(&r.get::<_, String>(13)?, "tickets", &key)?,
    })
}
