//! Fuzzes the `line` decoder: arbitrary chunked input and encode -> decode round
//! trips (checks in `src/lib.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockbox_core::frame::FramingKind;
use sockbox_fuzz::{Case, check};

fuzz_target!(|case: Case| check(FramingKind::Line, &case));
