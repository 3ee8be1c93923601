//! sockbox (native): runs sockbox-core's apps over real OS sockets, and the
//! simulator from the terminal.
//!
//! * [`driver`]: the mio event loop that carries out the apps' socket calls.
//! * [`cli`]: the `sockbox` command line (`serve`, `connect`, `run`, ...).

pub mod cli;
pub mod driver;
