//! sockbox-wasm: the browser lab's handle over sockbox-core's simulator.
