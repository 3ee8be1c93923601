//! Built-in scenarios: one per lesson of the tutorial.
