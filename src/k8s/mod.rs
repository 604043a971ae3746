//! Kubernetes value types and semantics shared by every stage: names and
//! labels, IP blocks, quantities, and the NetworkPolicy evaluator.

pub(crate) mod names;
pub(crate) mod net;
pub(crate) mod netpol_eval;
pub(crate) mod quantity;
