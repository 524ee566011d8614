//! The seed's own menus, word for word, built in rather than stored: the hotline
//! sign-in an agent hears when calling the service number from their direct number
//! (S4, S13), the 0000 feature menu of any registered phone (S7), and the
//! satisfaction survey an agent transfers a customer to (S10).
//!
//! They are ordinary flows of ordinary nodes (plus `Agent` actions), so the session
//! walks them like any other and the prompts are the files of `sounds/`.

use super::flow::{AgentAction, Choice, Flow, FlowId, Node, NodeId, NodeKind};

/// The dial code of the feature menu.
pub const FEATURE_CODE: &str = "0000";

/// Flow ids for the built-in flows, below any stored flow's (which start at 1).
pub const HOTLINE: FlowId = FlowId(-1);
pub const FEATURES: FlowId = FlowId(-2);
pub const SURVEY: FlowId = FlowId(-3);

/// How long these menus wait for a key, and how often they ask again.
const WAIT_SECS: u32 = 10;
const RETRIES: u32 = 2;

fn node(id: u32, kind: NodeKind) -> Node {
    Node {
        id: NodeId(id),
        kind,
    }
}

fn prompts(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn menu(choices: &[(char, u32)], prompt: &str, fail: u32) -> NodeKind {
    NodeKind::Menu {
        prompts: prompts(&[prompt]),
        choices: choices
            .iter()
            .map(|(key, next)| Choice {
                key: *key,
                next: NodeId(*next),
            })
            .collect(),
        timeout_secs: WAIT_SECS,
        retries: RETRIES,
        fail: Some(NodeId(fail)),
    }
}

/// Collect an agent number ended by #, then go to `next`.
fn agent_number(prompt: &str, next: u32, fail: u32) -> NodeKind {
    NodeKind::Collect {
        prompts: prompts(&[prompt]),
        max_digits: 16,
        timeout_secs: WAIT_SECS,
        retries: RETRIES,
        next: NodeId(next),
        fail: Some(NodeId(fail)),
    }
}

fn agent(action: AgentAction, ok: u32, unknown: u32) -> NodeKind {
    NodeKind::Agent {
        action,
        ok: NodeId(ok),
        unknown: NodeId(unknown),
    }
}

fn say(names: &[&str], next: u32) -> NodeKind {
    NodeKind::Play {
        prompts: prompts(names),
        next: Some(NodeId(next)),
    }
}

fn bye(names: &[&str]) -> NodeKind {
    NodeKind::Hangup {
        prompts: prompts(names),
    }
}

/// "您拨打的号码是坐席接听号码,签入请按1,签出请按2,返回正常通话流程请按3"; 1 and 2
/// take the agent number ended by #; 3 (or no key) goes on to the normal flow.
pub fn hotline() -> Flow {
    Flow {
        id: HOTLINE,
        name: "坐席签入 (hotline)".into(),
        start: NodeId(1),
        nodes: vec![
            node(1, menu(&[('1', 2), ('2', 5), ('3', 9)], "hotline_menu", 9)),
            node(2, agent_number("enter_agent_id", 3, 8)),
            node(3, agent(AgentAction::SignInDirect, 4, 6)),
            node(4, bye(&["sign_in_ok"])),
            node(6, say(&["unknown_agent"], 2)),
            node(5, agent_number("enter_agent_id", 7, 8)),
            node(7, agent(AgentAction::SignOut, 10, 11)),
            node(10, bye(&["sign_out_ok"])),
            node(11, say(&["unknown_agent"], 5)),
            node(8, bye(&["goodbye"])),
            node(9, NodeKind::Continue),
        ],
    }
}

/// "绑定当前设备请按1,查询当前设备绑定情况请按2,坐席签入请按3,坐席签出请按4".
pub fn features() -> Flow {
    Flow {
        id: FEATURES,
        name: "0000 (phone features)".into(),
        start: NodeId(1),
        nodes: vec![
            node(
                1,
                menu(
                    &[('1', 2), ('2', 5), ('3', 7), ('4', 10)],
                    "feature_menu",
                    20,
                ),
            ),
            // 1: bind this phone.
            node(2, agent_number("enter_bind_id", 3, 20)),
            node(3, agent(AgentAction::Bind, 4, 13)),
            node(4, bye(&["bind_ok"])),
            node(13, say(&["unknown_agent"], 2)),
            // 2: read the binding back.
            node(5, agent(AgentAction::ReadBinding, 20, 6)),
            node(6, bye(&["not_bound"])),
            // 3: sign in on this phone.
            node(7, agent_number("enter_agent_id", 8, 20)),
            node(8, agent(AgentAction::SignInHere, 9, 14)),
            node(9, bye(&["sign_in_ok"])),
            node(14, say(&["unknown_agent"], 7)),
            // 4: sign out.
            node(10, agent_number("enter_agent_id", 11, 20)),
            node(11, agent(AgentAction::SignOut, 12, 15)),
            node(12, bye(&["sign_out_ok"])),
            node(15, say(&["unknown_agent"], 10)),
            node(20, bye(&["goodbye"])),
        ],
    }
}

/// The satisfaction survey (转调查): "请对本次服务进行评价" with keys 1 to `scale`
/// (default 3: 1 satisfied, 2 neutral, 3 dissatisfied, as the `survey` prompt says;
/// an admin who changes the scale uploads a `survey` prompt that says theirs). The
/// key is stored as the call's score; an invalid key or silence asks again, twice.
pub fn survey(scale: u8) -> Flow {
    let scale = scale.clamp(1, 9);
    let choices: Vec<(char, u32)> = (1..=scale)
        .map(|k| (char::from(b'0' + k), 10 + u32::from(k)))
        .collect();
    let mut nodes = vec![
        node(1, menu(&choices, "survey", 99)),
        node(98, bye(&["survey_thanks"])),
        node(99, bye(&["goodbye"])),
    ];
    for k in 1..=scale {
        nodes.push(node(
            10 + u32::from(k),
            NodeKind::Rate {
                score: k,
                next: Some(NodeId(98)),
            },
        ));
    }
    Flow {
        id: SURVEY,
        name: "满意度调查".into(),
        start: NodeId(1),
        nodes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_flows_are_whole() {
        assert_eq!(hotline().check(), Ok(()));
        assert_eq!(features().check(), Ok(()));
    }
}
