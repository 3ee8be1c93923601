//! The lab's session logic, natively: stepping back is a deterministic replay,
//! changes apply at the step they were made and are undone by going back past
//! it, a shared link's (ops, step) reopens the same state, errors name the line.

use sockbox_core::sim::{Conditions, Scenario};
use sockbox_wasm::{Change, LabError, Op, Session, views};

fn trace(s: &Session) -> String {
    serde_json::to_string(s.sim().trace()).unwrap()
}

fn lossy(s: &Session) -> Conditions {
    Conditions {
        loss: 0.3,
        ..s.sim().conditions().clone()
    }
}

#[test]
fn back_is_the_state_first_seen_at_the_previous_step() {
    let mut s = Session::builtin("hello").unwrap();
    let mut seen = vec![trace(&s)];
    while s.step() {
        seen.push(trace(&s));
    }
    assert!(s.is_done());
    let end = s.steps();
    assert!(end > 5, "hello takes more than 5 steps, took {end}");
    for target in (0..end).rev() {
        s.goto(target).unwrap();
        assert_eq!(s.steps(), target);
        assert_eq!(trace(&s), seen[target as usize], "state at step {target}");
    }
    assert!(!s.is_done());
}

#[test]
fn a_change_applies_at_its_step_and_back_past_it_undoes_it() {
    let mut s = Session::builtin("tcp-vs-udp").unwrap();
    let clean = {
        let mut c = Session::builtin("tcp-vs-udp").unwrap();
        c.run_to_end();
        trace(&c)
    };
    for _ in 0..4 {
        s.step();
    }
    let c = lossy(&s);
    s.change(Change::SetConditions { conditions: c }).unwrap();
    assert_eq!(s.ops().len(), 1);
    assert_eq!(s.ops()[0].step, 4);
    s.run_to_end();
    let with_loss = trace(&s);
    assert_ne!(with_loss, clean, "30% loss changes the run");
    assert!(with_loss.contains("\"fate\":\"lost\""));
    // Going back to step 4 keeps the change (it was made at step 4) ...
    s.goto(4).unwrap();
    assert_eq!(s.ops().len(), 1);
    s.run_to_end();
    assert_eq!(trace(&s), with_loss, "replay is deterministic");
    // ... going back before it drops it.
    s.goto(3).unwrap();
    assert!(s.ops().is_empty());
    s.run_to_end();
    assert_eq!(trace(&s), clean);
}

#[test]
fn ops_and_step_from_a_link_reopen_the_same_state() {
    let mut s = Session::builtin("hello").unwrap();
    s.step();
    s.step();
    s.change(Change::Partition {
        a: "client".into(),
        b: "server".into(),
    })
    .unwrap();
    for _ in 0..3 {
        s.step();
    }
    s.change(Change::Repair {
        a: "server".into(),
        b: "client".into(),
    })
    .unwrap();
    s.step();
    assert!(
        s.partitions().is_empty(),
        "repair undoes partition either way round"
    );
    let ops_json = serde_json::to_string(&views::ops(s.ops())).unwrap();
    let ops: Vec<Op> = serde_json::from_str(&ops_json).unwrap();
    let mut t = Session::builtin("hello").unwrap();
    t.restore(ops, s.steps()).unwrap();
    assert_eq!(t.steps(), s.steps());
    assert_eq!(trace(&t), trace(&s));
    assert_eq!(t.ops(), s.ops());
}

#[test]
fn partitions_and_crashes_are_visible() {
    let mut s = Session::builtin("hello").unwrap();
    s.change(Change::Partition {
        a: "client".into(),
        b: "server".into(),
    })
    .unwrap();
    assert_eq!(
        s.partitions(),
        vec![("client".to_string(), "server".to_string())]
    );
    s.change(Change::Crash {
        host: "server".into(),
    })
    .unwrap();
    let hosts = views::hosts(s.sim());
    let server = hosts.iter().find(|h| h.name == "server").unwrap();
    assert!(server.crashed);
    let err = s
        .change(Change::Crash {
            host: "nosuch".into(),
        })
        .unwrap_err();
    assert!(err.to_string().contains("nosuch"), "{err}");
}

#[test]
fn a_new_seed_replays_to_the_same_step() {
    let mut s = Session::builtin("tcp-vs-udp").unwrap();
    for _ in 0..10 {
        s.step();
    }
    s.set_seed(99).unwrap();
    assert_eq!(s.steps(), 10);
    assert_eq!(s.scenario().seed, 99);
}

#[test]
fn bad_input_is_named() {
    let e = Session::parse("{\"name\": \"x\",\n\"stop_ms\": \"soon\"}", "json")
        .err()
        .unwrap();
    assert!(matches!(e, LabError::BadScenario(_)));
    assert!(e.to_string().contains("line 2"), "{e}");
    for format in ["yaml", "toml"] {
        let e = Session::parse("{}", format).err().unwrap();
        assert_eq!(
            e.to_string(),
            format!("unknown scenario format \"{format}\" (the lab reads json)")
        );
    }
    let e = Session::builtin("nope").err().unwrap();
    assert_eq!(e.to_string(), "no built-in scenario named \"nope\"");
    let mut s = Session::builtin("hello").unwrap();
    let bad = Conditions {
        loss: 2.0,
        ..Conditions::default()
    };
    let e = s
        .change(Change::SetConditions { conditions: bad })
        .unwrap_err();
    assert!(e.to_string().contains("loss"), "{e}");
    assert!(s.ops().is_empty(), "a refused change is not logged");
}

#[test]
fn the_editor_source_of_every_builtin_loads_back() {
    let lessons: Vec<serde_json::Value> = serde_json::from_str(&views::builtins_json()).unwrap();
    assert!(lessons.len() >= 7);
    for l in lessons {
        let name = l["name"].as_str().unwrap();
        assert!(!l["description"].as_str().unwrap().is_empty(), "{name}");
        let s = Session::builtin(name).unwrap();
        let text = views::scenario_json(s.scenario());
        let back = Session::parse(&text, "json").unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        assert_eq!(back.scenario(), s.scenario(), "{name}");
    }
}

#[test]
fn ops_json_is_one_flat_object_per_op() {
    let ops = vec![
        Op {
            step: 2,
            change: Change::Partition {
                a: "client".into(),
                b: "server".into(),
            },
        },
        Op {
            step: 5,
            change: Change::Restart {
                host: "server".into(),
            },
        },
    ];
    let text = serde_json::to_string(&ops).unwrap();
    assert_eq!(
        text,
        r#"[{"step":2,"op":"partition","a":"client","b":"server"},{"step":5,"op":"restart","host":"server"}]"#
    );
    let back: Vec<Op> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, ops);
    // The page's log is the same; a `label` (older links have one) is ignored.
    assert_eq!(serde_json::to_string(&views::ops(&ops)).unwrap(), text);
    let old = text.replace(
        r#""host":"server"}"#,
        r#""host":"server","label":"restart server"}"#,
    );
    let again: Vec<Op> = serde_json::from_str(&old).unwrap();
    assert_eq!(again, ops);
    let e = serde_json::from_str::<Vec<Op>>(r#"[{"step":1,"op":"crash"}]"#).unwrap_err();
    assert!(e.to_string().contains("missing field `host`"), "{e}");
    let e = serde_json::from_str::<Vec<Op>>(r#"[{"step":1,"op":"explode"}]"#).unwrap_err();
    assert!(e.to_string().contains("unknown variant `explode`"), "{e}");
    // The lab reads them with core's reader: the same values and errors.
    let read = |t: &str| sockbox_core::json::from_str::<Vec<Op>>(t);
    assert_eq!(read(&text).unwrap(), ops);
    assert_eq!(read(&old).unwrap(), ops);
    let e = read(r#"[{"step":1,"op":"crash"}]"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "missing field `host` for this op at line 1 column 24"
    );
    let e = read(r#"[{"step":1,"op":"explode"}]"#).unwrap_err();
    assert!(e.to_string().contains("unknown variant `explode`"), "{e}");
    let e = read(r#"[{"op":"crash","host":"a"}]"#).unwrap_err();
    assert!(e.to_string().contains("missing field `step`"), "{e}");
}

#[test]
fn the_editor_source_is_the_scenario_as_compact_json() {
    for &(name, _) in sockbox_core::sim::Scenario::builtins() {
        let s = Session::builtin(name).unwrap();
        let text = views::scenario_json(s.scenario());
        assert_eq!(text, serde_json::to_string(s.scenario()).unwrap(), "{name}");
        // What the page's editor shows reads back as the same scenario.
        let pretty = serde_json::to_string_pretty(s.scenario()).unwrap();
        assert_eq!(
            &Scenario::from_json(&pretty).unwrap(),
            s.scenario(),
            "{name}"
        );
    }
}

#[test]
fn a_link_cannot_run_past_the_step_limit_or_reorder_its_changes() {
    // A link's step past the limit stops there, with the sim really rebuilt
    // (it used to report step 4294967295 over a sim left where it was).
    let mut s = Session::builtin("hello").unwrap();
    s.step();
    s.restore(Vec::new(), u32::MAX).unwrap();
    let mut end = Session::builtin("hello").unwrap();
    end.run_to_end();
    assert_eq!(s.steps(), end.steps(), "hello ends well before the limit");
    assert_eq!(trace(&s), trace(&end));
    let mut forward = Session::builtin("hello").unwrap();
    forward.goto(u32::MAX).unwrap();
    assert_eq!(forward.steps(), end.steps());
    // Changes out of step order are refused by name, and nothing changes.
    let op = |step| Op {
        step,
        change: Change::Partition {
            a: "client".into(),
            b: "server".into(),
        },
    };
    let before = trace(&s);
    let e = s.restore(vec![op(3), op(1)], 5).unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad list of changes in the link: not in step order"
    );
    assert_eq!(trace(&s), before);
    assert!(s.ops().is_empty());
    // In order, they apply.
    s.restore(vec![op(1), op(1), op(3)], 5).unwrap();
    assert_eq!(s.steps(), 5);
    assert_eq!(s.ops().len(), 3);
}

#[test]
fn a_link_whose_change_cannot_apply_stops_there_and_keeps_the_rest() {
    let mut s = Session::builtin("hello").unwrap();
    let ops = vec![
        Op {
            step: 1,
            change: Change::Partition {
                a: "client".into(),
                b: "server".into(),
            },
        },
        Op {
            step: 3,
            change: Change::Crash {
                host: "nosuch".into(),
            },
        },
    ];
    let e = s.restore(ops.clone(), 6).unwrap_err();
    assert!(e.to_string().contains("nosuch"), "{e}");
    // Stopped before step 3's change, with the partition that was applied logged.
    assert_eq!(s.steps(), 3);
    assert_eq!(s.ops(), &ops[..1]);
    assert_eq!(s.partitions().len(), 1);
    // Back replays what is logged, as for any other run.
    s.goto(2).unwrap();
    assert_eq!(s.ops(), &ops[..1]);
}

#[test]
fn a_link_error_quoting_the_link_stays_on_one_line() {
    let e = sockbox_core::json::from_str::<Vec<Op>>(r#"[{"step": 0, "op": "cr\nash"}]"#)
        .map_err(|e| LabError::BadOps(e.to_string()))
        .unwrap_err()
        .to_string();
    assert!(!e.contains('\n'), "{e}");
}
