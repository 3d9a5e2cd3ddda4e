//! Fixtures shared by Arena's criterion benches.
