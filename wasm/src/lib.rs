//! sockbox-wasm: the browser lab's handle over sockbox-core's simulator.
//!
//! [`Lab`] wraps one [`Session`] for JavaScript. Views cross the boundary as JSON
//! strings (records exactly as `sockbox_core::sim::Record` serializes them, host
//! views, conditions, the op log), bytes as `Uint8Array` (pcap, a frame). Every
//! failure is a `JsError` whose message names what was wrong; a panic is
//! recorded by the hook installed at start-up and read back with
//! [`take_panic`], so the page shows it in its error banner instead of dying
//! silently. All protocol logic stays in core: this crate only translates.
//!
//! Call order from the page: `builtins()`, then `Lab.builtin(name)` or
//! `Lab.parse(text, "json")`; `step()` / `back()` / `goto(n)` /
//! `run_to_end()`; after each, `trace_json(from)` for the new records and
//! `hosts_json()` for the host panels.

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use std::sync::Mutex;

use wasm_bindgen::prelude::*;

/// Talc instead of Rust's default dlmalloc for wasm: smaller, and faster on the
/// simulator's many small allocations.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

pub mod corpus;
pub mod session;
pub mod views;

pub use session::{Change, LabError, Op, Session};
use sockbox_core::sim::Conditions;

/// The last panic message, kept for [`take_panic`].
static PANIC: Mutex<String> = Mutex::new(String::new());

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(msg: &str);
}

/// Installed when the module starts: record the panic and print it to the console.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(alloc::boxed::Box::new(|info| {
        let msg = info.to_string();
        console_error(&msg);
        if let Ok(mut slot) = PANIC.lock() {
            *slot = msg;
        }
    }));
}

/// The last panic message (empty if none), clearing it.
#[wasm_bindgen]
pub fn take_panic() -> String {
    PANIC
        .lock()
        .map(|mut s| core::mem::take(&mut *s))
        .unwrap_or_default()
}

/// Panics on purpose. Nothing in the page calls it: the browser test does, to
/// prove that a panic reaches the page's error banner with its message (the
/// hook installed by [`start`] records it; `www/js/wasm.js` shows it).
#[wasm_bindgen]
pub fn debug_panic() {
    panic!("debug_panic: a deliberate panic for the error banner's test");
}

/// Every built-in lesson: `[{name, summary, description}]`.
#[wasm_bindgen]
pub fn builtins() -> String {
    views::builtins_json()
}

fn js(e: LabError) -> JsError {
    JsError::new(&e.to_string())
}

fn json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| String::from("null"))
}

/// One scenario's run, stepped by the page.
#[wasm_bindgen]
pub struct Lab {
    s: Session,
}

#[wasm_bindgen]
impl Lab {
    /// A built-in lesson by name.
    pub fn builtin(name: &str) -> Result<Lab, JsError> {
        Ok(Lab {
            s: Session::builtin(name).map_err(js)?,
        })
    }

    /// A user scenario; `format` is `json`. Errors name the line or field.
    pub fn parse(source: &str, format: &str) -> Result<Lab, JsError> {
        Ok(Lab {
            s: Session::parse(source, format).map_err(js)?,
        })
    }

    pub fn name(&self) -> String {
        self.s.scenario().name.clone()
    }

    pub fn description(&self) -> String {
        self.s.scenario().description.clone()
    }

    /// The scenario as compact JSON, for the editor (which lays it out).
    pub fn source_json(&self) -> String {
        views::scenario_json(self.s.scenario())
    }

    pub fn seed(&self) -> u64 {
        self.s.scenario().seed
    }

    /// Re-simulate the same steps and changes under another seed.
    pub fn set_seed(&mut self, seed: u64) -> Result<(), JsError> {
        self.s.set_seed(seed).map_err(js)
    }

    /// One event; `false` when the run had already ended.
    pub fn step(&mut self) -> bool {
        self.s.step()
    }

    /// Back one step (deterministic re-simulation).
    pub fn back(&mut self) -> Result<(), JsError> {
        let to = self.s.steps().saturating_sub(1);
        self.s.goto(to).map_err(js)
    }

    /// Jump to step `n` (or the end of the run if it is shorter).
    pub fn goto(&mut self, n: u32) -> Result<(), JsError> {
        self.s.goto(n).map_err(js)
    }

    /// Step to the end (at most `session::MAX_STEPS`); returns the steps taken.
    pub fn run_to_end(&mut self) -> u32 {
        self.s.run_to_end()
    }

    /// What the last step was: `packet 3 delivered`, `timer on client`, ...
    pub fn last_step(&self) -> String {
        self.s.last_step().into()
    }

    pub fn step_no(&self) -> u32 {
        self.s.steps()
    }

    /// Virtual time in microseconds.
    pub fn now_us(&self) -> f64 {
        self.s.sim().now().as_micros() as f64
    }

    pub fn is_done(&self) -> bool {
        self.s.is_done()
    }

    /// The trace records from index `from` on, as a JSON array.
    pub fn trace_json(&self, from: usize) -> String {
        json(self.s.sim().trace().get(from..).unwrap_or(&[]))
    }

    /// Host panels: see [`views::HostJson`].
    pub fn hosts_json(&self) -> String {
        json(&views::hosts(self.s.sim()))
    }

    pub fn conditions_json(&self) -> String {
        json(self.s.sim().conditions())
    }

    /// Replace the link conditions from now on (JSON of `Conditions`).
    pub fn set_conditions(&mut self, conditions: &str) -> Result<(), JsError> {
        let c: Conditions = sockbox_core::json::from_str(conditions)
            .map_err(|e| js(LabError::BadConditions(e.to_string())))?;
        self.s
            .change(Change::SetConditions { conditions: c })
            .map_err(js)
    }

    pub fn partition(&mut self, a: &str, b: &str) -> Result<(), JsError> {
        self.s
            .change(Change::Partition {
                a: a.into(),
                b: b.into(),
            })
            .map_err(js)
    }

    pub fn repair(&mut self, a: &str, b: &str) -> Result<(), JsError> {
        self.s
            .change(Change::Repair {
                a: a.into(),
                b: b.into(),
            })
            .map_err(js)
    }

    pub fn crash(&mut self, host: &str) -> Result<(), JsError> {
        self.s
            .change(Change::Crash { host: host.into() })
            .map_err(js)
    }

    pub fn restart(&mut self, host: &str) -> Result<(), JsError> {
        self.s
            .change(Change::Restart { host: host.into() })
            .map_err(js)
    }

    /// `[[a, b]]`: the pairs of hosts partitioned now.
    pub fn partitions_json(&self) -> String {
        json(&self.s.partitions())
    }

    /// The changes applied so far: `[{step, op, ...}]`.
    pub fn ops_json(&self) -> String {
        json(&views::ops(self.s.ops()))
    }

    /// Replace the changes and re-simulate to step `step` (a shared link).
    pub fn restore(&mut self, ops: &str, step: u32) -> Result<(), JsError> {
        let ops: Vec<Op> =
            sockbox_core::json::from_str(ops).map_err(|e| js(LabError::BadOps(e.to_string())))?;
        self.s.restore(ops, step).map_err(js)
    }

    /// The run so far as a libpcap file (Ethernet link type).
    pub fn pcap(&self) -> Vec<u8> {
        self.s.sim().pcap()
    }

    /// One frame's bytes by packet id (empty if unknown).
    pub fn frame(&self, id: u32) -> Vec<u8> {
        self.s
            .sim()
            .frame(u64::from(id))
            .map(<[u8]>::to_vec)
            .unwrap_or_default()
    }
}
