//! Fuzzes what a shared lab link carries into the lab's session (the same
//! `Session` the wasm runs): a lesson, a seed, a list of changes as JSON and a
//! step. Whatever they are, the session either refuses the list with a one-line
//! error naming it, or replays the changes up to the step (changes naming no
//! host of the lesson, bad conditions: a one-line error), and afterwards
//! still steps, goes back, and renders its views. Nothing may panic.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use sockbox_core::sim::Scenario;
use sockbox_fuzz::assert_one_line;
use sockbox_wasm::{Op, Session, views};

#[derive(Arbitrary, Debug)]
struct Link {
    lesson: u8,
    seed: u64,
    /// Kept small: each step is an event of the simulator.
    step: u16,
    ops: String,
}

fuzz_target!(|link: Link| {
    let names: Vec<&str> = Scenario::builtins().iter().map(|(n, _)| *n).collect();
    let name = names[usize::from(link.lesson) % names.len()];
    let Ok(mut s) = Session::builtin(name) else {
        panic!("the built-in {name} loads");
    };
    if let Err(e) = s.set_seed(link.seed) {
        assert_one_line(&e.to_string());
    }
    let step = u32::from(link.step % 3_000);
    match sockbox_core::json::from_str::<Vec<Op>>(&link.ops) {
        Err(e) => assert_one_line(&e.to_string()),
        Ok(ops) => {
            if let Err(e) = s.restore(ops, step) {
                assert_one_line(&e.to_string());
            }
        }
    }
    assert!(s.steps() <= step, "{} > {step}", s.steps());
    for _ in 0..20 {
        s.step();
    }
    let _ = views::hosts(s.sim());
    let _ = views::ops(s.ops());
    let _ = s.partitions();
    if s.steps() > 0 {
        if let Err(e) = s.goto(s.steps() - 1) {
            assert_one_line(&e.to_string());
        }
    }
});
