//! Unit tests of the 2026-07-28 pieces.
