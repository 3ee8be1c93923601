//! sockbox (native): runs sockbox-core's apps over real OS sockets, and the
//! simulator from the terminal.
