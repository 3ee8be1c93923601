//! The simulated network (PLACEHOLDER: to be built by the simulator work).
