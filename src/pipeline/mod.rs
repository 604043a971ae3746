//! Stages 2 to 5, wired by `run`: `load` checks and parses a profile into the
//! `model`, each concern's `validate` fills the `plan` (with its L4
//! `allowance`s; `flows` and `facts` are read from it), `lint` refuses
//! what its error rules flag; `error` is the error every stage and command
//! returns, `timing` what each stage cost, `both` the two-thread split.

pub(crate) mod allowance;
pub(crate) mod both;
pub(crate) mod error;
pub(crate) mod facts;
pub(crate) mod flows;
pub mod lint;
pub mod load;
pub mod model;
pub mod plan;
pub(crate) mod run;
pub mod timing;
