//! The store's side of tickets, ticket types, cards and what an agent may see, on a
//! real SQLite file in a temp dir.

use super::*;
use crate::core::{AnswerMode, CallDirection, CallRecord, StoreOp};
use crate::core::{CallEventRecord, CallId};
use crate::store::{CardChange, NewAgent};

const SQLISH: &str = "'; DROP TABLE tickets; --";

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("callbox.db")).unwrap();
    (dir, store)
}

fn field(e: Result<impl std::fmt::Debug, StoreError>) -> &'static str {
    match e {
        Err(StoreError::Invalid { field, .. }) => field,
        other => panic!("not a refusal: {other:?}"),
    }
}

fn kind(name: &str, fields: Vec<TicketField>) -> NewTicketType {
    NewTicketType {
        name: name.into(),
        fields,
        enabled: true,
    }
}

fn ticket(type_id: i64, customer: Option<&str>, agent: Option<&str>) -> NewTicket {
    NewTicket {
        type_id,
        title: "来电咨询".into(),
        description: String::new(),
        priority: "normal".into(),
        status: "open".into(),
        customer: customer.map(str::to_string),
        call: None,
        agent: agent.map(str::to_string),
        created_by: "8001".into(),
        fields: Vec::new(),
    }
}

/// A call from `from`, taken by agent 8001 when `taken`, or only rung for 8002.
fn call(s: &mut Store, id: i64, from: &str, taken: bool) {
    let mut record = CallRecord::begun(
        CallId(id),
        CallDirection::Inbound,
        from.into(),
        "4008001234".into(),
        Utc::now(),
    );
    if taken {
        record.agent = s.agent_by_number("8001").unwrap().map(|(id, _)| id);
    }
    s.apply(&StoreOp::Call(Box::new(record))).unwrap();
    let line = CallEventRecord {
        call: CallId(id),
        seq: 1,
        at: Utc::now(),
        kind: crate::core::CallEventKind::AgentOffered,
        party: if taken { "8001" } else { "8002" }.into(),
        sip_code: None,
        detail: "rang agent".into(),
    };
    s.apply(&StoreOp::CallEvent(Box::new(line))).unwrap();
}

fn agent(s: &mut Store, number: &str) {
    s.add_agent(&NewAgent {
        number: number.into(),
        name: format!("agent {number}"),
        web_password: "secret-pw".into(),
        sip_password: None,
        direct_number: None,
        bound_device: None,
        answer_mode: AnswerMode::Device,
        offline_answering: false,
        allow_fallback: false,
        confirm_direct: false,
    })
    .unwrap();
}

#[test]
fn ticket_types_are_checked_kept_in_use_and_removed_when_unused() {
    let (_dir, mut s) = store();
    let order = TicketField {
        name: "订单号".into(),
        required: true,
        options: vec![],
    };
    let t = s
        .add_ticket_type(&kind("报修", vec![order.clone()]))
        .unwrap();
    assert_eq!((t.name.as_str(), t.fields.len(), t.tickets), ("报修", 1, 0));
    assert_eq!(field(s.add_ticket_type(&kind("报修", vec![]))), "name");
    assert_eq!(field(s.add_ticket_type(&kind(" ", vec![]))), "name");
    assert_eq!(
        field(s.add_ticket_type(&kind(&"x".repeat(33), vec![]))),
        "name"
    );
    assert_eq!(
        field(s.add_ticket_type(&kind("双", vec![order.clone(), order.clone()]))),
        "fields"
    );
    let many = (0..11)
        .map(|i| TicketField {
            name: format!("f{i}"),
            required: false,
            options: vec![],
        })
        .collect();
    assert_eq!(field(s.add_ticket_type(&kind("多", many))), "fields");
    let odd = s.add_ticket_type(&kind(SQLISH, vec![])).unwrap();
    assert_eq!(s.ticket_type(odd.id).unwrap().unwrap().name, SQLISH);

    s.add_ticket(&ticket(t.id, None, None))
        .map(|_| ())
        .unwrap_err();
    let mut k = ticket(t.id, None, None);
    k.fields = vec![("订单号".into(), "A-1".into())];
    s.add_ticket(&k).unwrap();
    assert_eq!(
        s.remove_ticket_type(t.id).unwrap(),
        TypeRemoval::InUse { tickets: 1 }
    );
    assert_eq!(s.remove_ticket_type(odd.id).unwrap(), TypeRemoval::Removed);
    assert!(matches!(
        s.remove_ticket_type(odd.id),
        Err(StoreError::NotFound { .. })
    ));
    let mut off = kind("报修", vec![order]);
    off.enabled = false;
    s.update_ticket_type(t.id, &off).unwrap();
    assert_eq!(field(s.add_ticket(&k)), "type");
    assert!(matches!(
        s.update_ticket_type(999, &off),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn tickets_check_every_field_and_fit_their_type() {
    let (_dir, mut s) = store();
    let t = s
        .add_ticket_type(&kind(
            "投诉",
            vec![
                TicketField {
                    name: "渠道".into(),
                    required: true,
                    options: vec!["电话".into(), "微信".into()],
                },
                TicketField {
                    name: "订单号".into(),
                    required: false,
                    options: vec![],
                },
            ],
        ))
        .unwrap();
    let good = || {
        let mut k = ticket(t.id, Some("13800138000"), Some("8001"));
        k.fields = vec![
            ("订单号".into(), SQLISH.into()),
            ("渠道".into(), "电话".into()),
        ];
        k
    };
    let made = s.add_ticket(&good()).unwrap();
    assert_eq!(
        made.fields,
        [
            ("渠道".to_string(), "电话".to_string()),
            ("订单号".to_string(), SQLISH.to_string())
        ],
        "in the type's order, verbatim"
    );
    type Edit = fn(&mut NewTicket);
    let bad: [(&str, Edit); 10] = [
        ("type", |k| k.type_id = 99),
        ("title", |k| k.title = "  ".into()),
        ("title", |k| k.title = "x".repeat(101)),
        ("title", |k| k.title = "a\nb".into()),
        ("priority", |k| k.priority = "asap".into()),
        ("status", |k| k.status = "done".into()),
        ("customer", |k| k.customer = Some("abc".into())),
        ("call", |k| k.call = Some(42)),
        ("fields", |k| {
            k.fields = vec![("渠道".into(), "邮件".into())]
        }),
        ("fields", |k| k.fields = vec![("颜色".into(), "红".into())]),
    ];
    for (want, change) in bad {
        let mut k = good();
        change(&mut k);
        assert_eq!(field(s.add_ticket(&k)), want, "{k:?}");
    }
    let mut missing = good();
    missing.fields.retain(|(n, _)| n != "渠道");
    assert_eq!(field(s.add_ticket(&missing)), "fields");

    let changed = s
        .update_ticket(
            made.id,
            &TicketChange {
                status: Some("resolved".into()),
                description: Some(SQLISH.into()),
                ..TicketChange::default()
            },
        )
        .unwrap();
    assert_eq!(changed.status, "resolved");
    assert_eq!(changed.description, SQLISH);
    assert_eq!(changed.fields, made.fields);
    let err = s.update_ticket(
        made.id,
        &TicketChange {
            status: Some("gone".into()),
            ..TicketChange::default()
        },
    );
    assert_eq!(field(err), "status");
    assert!(matches!(
        s.update_ticket(999, &TicketChange::default()),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn an_agent_sees_their_own_tickets_and_their_callers_only() {
    let (_dir, mut s) = store();
    agent(&mut s, "8001");
    agent(&mut s, "8002");
    let t = s.add_ticket_type(&kind("咨询", vec![])).unwrap();
    call(&mut s, 1, "13800000001", true);
    call(&mut s, 2, "13800000002", false);
    s.add_ticket(&ticket(t.id, Some("13800000001"), Some("8002")))
        .unwrap();
    s.add_ticket(&ticket(t.id, Some("13800000002"), Some("8002")))
        .unwrap();
    s.add_ticket(&ticket(t.id, None, Some("8001"))).unwrap();
    let mut from_call = ticket(t.id, None, Some("8001"));
    from_call.call = Some(1);
    let k = s.add_ticket(&from_call).unwrap();
    assert_eq!(
        k.customer.as_deref(),
        Some("13800000001"),
        "the call's caller"
    );

    let seen = |s: &Store, who: &str| {
        let (list, total) = s
            .tickets(&TicketFilter {
                visible_to: Some(who.into()),
                limit: 50,
                ..TicketFilter::default()
            })
            .unwrap();
        assert_eq!(list.len() as u64, total);
        list.iter().map(|k| k.id).collect::<Vec<_>>()
    };
    assert_eq!(seen(&s, "8001"), [4, 3, 1]);
    assert_eq!(seen(&s, "8002"), [2, 1], "their own, not 8001's caller's");
    let (all, total) = s
        .tickets(&TicketFilter {
            customer: Some("13800000001".into()),
            status: Some("open".into()),
            limit: 1,
            ..TicketFilter::default()
        })
        .unwrap();
    assert_eq!((all.len(), total), (1, 2));

    assert!(s.agent_knows_number("8001", "13800000001").unwrap());
    assert!(!s.agent_knows_number("8001", "13800000002").unwrap());
    assert!(s.agent_knows_number("8002", "13800000002").unwrap());
    assert!(s.agent_had_call("8002", CallId(2)).unwrap());
    assert!(!s.agent_had_call("8001", CallId(2)).unwrap());
    assert_eq!(
        s.customer_counts("13800000001", Some(CallId(1))).unwrap(),
        (0, 2)
    );
    let (calls, total) = s.customer_calls("13800000001", 10, 0).unwrap();
    assert_eq!((calls.len(), total), (1, 1));
    assert_eq!(calls[0].agent.as_deref(), Some("8001"));
}

#[test]
fn cards_merge_changes_keep_text_and_reload_routing_only_for_vip() {
    let (_dir, mut s) = store();
    let v0 = s.directory_version().unwrap();
    let card = s
        .save_customer(
            "13800138000",
            &CardChange {
                name: Some(SQLISH.into()),
                tags: Some(vec!["老客户".into()]),
                notes: Some("第一行\n第二行".into()),
                ..CardChange::default()
            },
            "8001",
        )
        .unwrap();
    assert_eq!(card.name, SQLISH);
    assert_eq!(card.updated_by, "8001");
    assert_eq!(s.directory_version().unwrap(), v0, "a card is not routing");
    let card = s
        .save_customer(
            "13800138000",
            &CardChange {
                company: Some("某公司".into()),
                vip: Some(true),
                ..CardChange::default()
            },
            "admin",
        )
        .unwrap();
    assert_eq!(
        (card.name.as_str(), card.company.as_str()),
        (SQLISH, "某公司")
    );
    assert!(card.vip);
    assert_eq!(card.tags, ["老客户"]);
    assert!(s.directory_version().unwrap() > v0, "a VIP mark is");
    let bad: [(&str, CardChange); 7] = [
        (
            "name",
            CardChange {
                name: Some("x".repeat(65)),
                ..CardChange::default()
            },
        ),
        (
            "email",
            CardChange {
                email: Some("no-at".into()),
                ..CardChange::default()
            },
        ),
        (
            "email",
            CardChange {
                email: Some("a@b".into()),
                ..CardChange::default()
            },
        ),
        (
            "address",
            CardChange {
                address: Some("a\u{7}".into()),
                ..CardChange::default()
            },
        ),
        (
            "notes",
            CardChange {
                notes: Some("x".repeat(2001)),
                ..CardChange::default()
            },
        ),
        (
            "tags",
            CardChange {
                tags: Some(vec!["a".into(), "a".into()]),
                ..CardChange::default()
            },
        ),
        (
            "tags",
            CardChange {
                tags: Some(vec![String::new()]),
                ..CardChange::default()
            },
        ),
    ];
    for (want, change) in bad {
        assert_eq!(field(s.save_customer("13800138000", &change, "x")), want);
    }
    assert_eq!(
        field(s.save_customer("12ab", &CardChange::default(), "x")),
        "number"
    );
    let (found, total) = s.customers("某公", 10, 0).unwrap();
    assert_eq!((found.len(), total), (1, 1));
    assert_eq!(s.customers("100%", 10, 0).unwrap().1, 0, "% is text");
    assert_eq!(s.customers("", 10, 0).unwrap().1, 1);
    assert!(s.customer("13900000000").unwrap().is_none());
}
