//! Limits hold without allocating: a counting global allocator (stats_alloc)
//! measures every byte the decoders request while they are fed an oversized
//! length prefix, an endless line and an endless COBS frame. One test function,
//! so no other test allocates at the same time.

use std::alloc::System;

use sockbox_core::frame::{DEFAULT_MAX_FRAME, DecodeError, Framing, FramingKind};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes requested inside `region`: fresh allocations plus growth by realloc
/// (stats_alloc counts both in `bytes_allocated`). An upper bound of the peak.
fn requested(region: &Region<'_, System>) -> usize {
    region.change().bytes_allocated
}

#[test]
fn limits_hold_without_allocating() {
    let max = DEFAULT_MAX_FRAME;
    let junk = vec![b'a'; 4 * max];
    let ffs = vec![0xffu8; 4 * max];

    // len32 announcing 4 GiB, then 4 MiB of payload bytes.
    let region = Region::new(GLOBAL);
    let mut d = Framing::new(FramingKind::Len32).decoder();
    d.push(&[0xff, 0xff, 0xff, 0xff]);
    d.push(&junk);
    let got = d.pop();
    let used = requested(&region);
    assert_eq!(
        got,
        Some(Err(DecodeError::PrefixTooLong {
            announced: u32::MAX,
            max
        }))
    );
    assert!(
        used < 4096,
        "len32: {used} bytes requested for an oversized prefix"
    );

    // A line with no delimiter, 4 MiB in one push: refused without copying.
    let region = Region::new(GLOBAL);
    let mut d = Framing::new(FramingKind::Line).decoder();
    d.push(&junk);
    let got = d.pop();
    let used = requested(&region);
    assert_eq!(got, Some(Err(DecodeError::LineTooLong { max })));
    assert!(
        used < 4096,
        "line: {used} bytes requested for one overlong push"
    );

    // The same 4 MiB in 1 KiB pushes: held up to the limit, never past it
    // (the buffer doubles, capped at the limit: it never reserves past 1 MiB).
    let region = Region::new(GLOBAL);
    let mut d = Framing::new(FramingKind::Line).decoder();
    for chunk in junk.chunks(1024) {
        d.push(chunk);
    }
    let got = d.pop();
    let used = requested(&region);
    assert_eq!(got, Some(Err(DecodeError::LineTooLong { max })));
    assert!(used <= max, "line: {used} bytes requested in 1 KiB pushes");

    // An endless COBS frame (0xff runs never end a frame): stops at the limit.
    let region = Region::new(GLOBAL);
    let mut d = Framing::new(FramingKind::Cobs).decoder();
    for chunk in ffs.chunks(4096) {
        d.push(chunk);
    }
    let got = d.pop();
    let used = requested(&region);
    assert_eq!(got, Some(Err(DecodeError::CobsTooLong { max })));
    assert!(used <= max, "cobs: {used} bytes requested");
}
