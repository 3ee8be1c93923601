//! sockbox (native): runs sockbox-core's apps over real OS sockets, and the
//! simulator from the terminal.
//!
//! * [`driver`]: the mio event loop that carries out the apps' socket calls.
//! * [`lab`]: a simulated network's apps over loopback sockets (`sockbox run`).
//! * [`simcli`]: `sockbox sim` and `sockbox scenarios` (the simulator's trace).
//! * [`cli`]: the `sockbox` command line (`serve`, `connect`, `run`, ...).

pub mod cli;
pub mod driver;
pub mod lab;
pub mod simcli;
