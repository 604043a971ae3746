//! What a reviewer reads: `diff` between two profiles, `explain` of one, the
//! HTML `report`.

pub mod diff;
pub mod explain;
pub mod report;
