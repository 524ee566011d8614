//! IVR flows from the command line, until the web editor exists: import a flow from a
//! JSON file (`{"start": 1, "nodes": [...]}`, the node shapes of `core::ivr`),
//! export one, and point service numbers and queue exit keys at flows.

use serde::{Deserialize, Serialize};

use super::CliError;
use super::args::{ArgError, Args};
use crate::config::Config;
use crate::core::ivr::{FlowId, Node, NodeId};
use crate::store::{NewFlow, Store};

/// The file format: a flow without its id and name (the name is an argument).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowFile {
    start: NodeId,
    nodes: Vec<Node>,
}

fn flow_named(store: &Store, name: &str) -> Result<FlowId, CliError> {
    store
        .flow_by_name(name)?
        .ok_or_else(|| ArgError(format!("no IVR flow is named {name:?}")).into())
}

/// `flow import NAME FILE`: add the flow, or replace the one of that name.
pub fn import(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &[])?;
    let name = args.at(0, "the flow's name")?;
    let path = args.at(1, "the JSON file")?;
    let text =
        std::fs::read_to_string(path).map_err(|e| ArgError(format!("cannot read {path}: {e}")))?;
    let file: FlowFile =
        serde_json::from_str(&text).map_err(|e| ArgError(format!("{path}: not a flow: {e}")))?;
    let flow = NewFlow {
        name: name.to_string(),
        start: file.start,
        nodes: file.nodes,
    };
    let mut store = Store::open(&config.db_path())?;
    let nodes = flow.nodes.len();
    match store.flow_by_name(name)? {
        Some(id) => store.replace_flow(id, &flow)?,
        None => {
            store.add_flow(&flow)?;
        }
    }
    println!("flow {name} saved ({nodes} nodes)");
    Ok(())
}

/// `flow export NAME`: the flow as `flow import` reads it.
pub fn export(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &[])?;
    let name = args.at(0, "the flow's name")?;
    let store = Store::open(&config.db_path())?;
    let id = flow_named(&store, name)?;
    let dir = store.load_directory(&config.sip.outbound_prefix)?;
    let Some(flow) = dir.flow(id) else {
        return Err(ArgError(format!("no IVR flow is named {name:?}")).into());
    };
    let file = FlowFile {
        start: flow.start,
        nodes: flow.nodes.clone(),
    };
    let text = serde_json::to_string_pretty(&file)
        .map_err(|e| ArgError(format!("cannot write the flow: {e}")))?;
    println!("{text}");
    Ok(())
}

/// `number flow SERVICE_NUMBER FLOW|none`
pub fn number_flow(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &[])?;
    let number = args.at(0, "the service number")?;
    let name = args.at(1, "the flow's name (or none)")?;
    let mut store = Store::open(&config.db_path())?;
    let flow = match name {
        "none" => None,
        name => Some(flow_named(&store, name)?),
    };
    store.set_service_number_flow(number, flow)?;
    println!("{number} now starts {name}");
    Ok(())
}

/// `group exit GROUP KEY FLOW` or `group exit GROUP none`
pub fn group_exit(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &[])?;
    let group = args.at(0, "the skill group's name")?;
    let mut store = Store::open(&config.db_path())?;
    let dir = store.load_directory(&config.sip.outbound_prefix)?;
    let id = dir
        .groups
        .iter()
        .find(|g| g.name == group)
        .map(|g| g.id)
        .ok_or_else(|| ArgError(format!("no skill group is named {group:?}")))?;
    let exit = match args.at(1, "the exit key (or none)")? {
        "none" => None,
        key => {
            let mut chars = key.chars();
            let (Some(k), None) = (chars.next(), chars.next()) else {
                return Err(ArgError(format!("the exit key is one key, got {key:?}")).into());
            };
            let flow = flow_named(&store, args.at(2, "the flow to exit to")?)?;
            Some((k, flow))
        }
    };
    store.set_queue_exit(id, exit)?;
    println!("exit key of {group} set");
    Ok(())
}
