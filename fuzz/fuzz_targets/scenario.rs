//! Fuzzes scenario files end to end: arbitrary text is read as JSON (the lab's
//! and the CLI's `.json` reader, `sockbox_core::json`) and as TOML (the CLI's
//! `.toml` reader). Each either fails with a one-line error naming what was
//! wrong, or gives a scenario that validated; a valid one small enough to run
//! in a few milliseconds is built and stepped (at most 2,000 events), and its
//! trace is rendered as text, JSON lines and pcap. Nothing may panic, and a
//! scenario that validated must build.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockbox_core::sim::{Scenario, Sim};
use sockbox_fuzz::assert_one_line;

/// Most events stepped per scenario.
const STEPS: usize = 2_000;

fn small(sc: &Scenario) -> bool {
    sc.hosts.len() <= 8
        && sc.hosts.iter().all(|h| {
            h.rx_buffer <= 1 << 20
                && h.tx_buffer <= 1 << 20
                && h.apps.iter().all(|a| {
                    a.count <= 200
                        && a.backlog <= 64
                        && a.sizes.iter().sum::<usize>() <= 1 << 20
                        && a.messages.len() <= 200
                })
        })
}

fn run(sc: &Scenario) {
    if !small(sc) {
        return;
    }
    let mut sim = match Sim::new(sc) {
        Ok(sim) => sim,
        // A spec the apps refuse (`build`'s own checks) is an error too; it
        // must still be one line.
        Err(e) => {
            assert_one_line(&e.to_string());
            return;
        }
    };
    for _ in 0..STEPS {
        if sim.step().is_none() {
            break;
        }
    }
    let text = sim.trace_text();
    let json = sim.trace_json();
    assert_eq!(text.lines().count(), json.lines().count());
    let pcap = sim.pcap();
    assert!(pcap.len() >= 24, "a pcap has at least its header");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    for parsed in [Scenario::from_json(text), Scenario::from_toml(text)] {
        match parsed {
            Ok(sc) => run(&sc),
            Err(e) => assert_one_line(&e.to_string()),
        }
    }
});
