//! The README's "The simulator from Rust" example, kept compiling and passing.

use sockbox_core::app::{AppSpec, Role};
use sockbox_core::sim::{Builder, Fate, PacketFilter, Record, StepKind};

#[test]
fn readme_example() {
    let client = AppSpec {
        role: Role::Client,
        server: Some("10.0.0.1:12345".parse().unwrap()),
        ..AppSpec::default()
    };
    let mut sim = Builder::new()
        .seed(7)
        .host("server", [10, 0, 0, 1])
        .app("server", AppSpec::default()) // greet server on 12345
        .host("client", [10, 0, 0, 2])
        .app("client", client)
        .build()
        .unwrap();

    // One event per step: a packet delivered or dropped, a timer, a fault.
    let first = sim.step().unwrap();
    assert!(matches!(first.kind, StepKind::Wake { .. })); // apps start at time 0
    // Faults between steps: lose the server's first data segment.
    sim.drop_next(PacketFilter {
        from: Some("server".into()),
        data: Some(true),
        ..Default::default()
    })
    .unwrap();
    sim.run_until_idle();
    let resent = sim
        .trace()
        .iter()
        .filter_map(Record::as_packet)
        .find(|p| p.retransmission)
        .unwrap();
    assert_eq!(resent.fate, Fate::Delivered);
    assert_eq!(
        sim.console("client").last().unwrap(),
        "Thank you for connecting"
    );
}

/// The README's code block and the test above are the same code (whitespace aside).
#[test]
fn readme_example_is_this_file() {
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let readme = include_str!("../../README.md");
    let section = readme.split("## The simulator from Rust").nth(1).unwrap();
    let block = section
        .split("```rust")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let this = include_str!("sim_readme.rs");
    let body = this.split("fn readme_example() {").nth(1).unwrap();
    let body = body.split("\n}\n").next().unwrap();
    let code = block
        .lines()
        .filter(|l| !l.starts_with("use "))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(squash(&code), squash(body));
}
