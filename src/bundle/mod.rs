//! Stage 6, the rendered bundle: each object's YAML (`emit`, `manifest`), its
//! apply `stage`, the files (`tree`), stream and drift check (`output`), a `fleet`'s
//! directories, and delivery: `gitops`, the `krm` function, `first_apply`.

pub(crate) mod emit;
pub mod first_apply;
pub mod fleet;
pub mod gitops;
pub mod krm;
pub mod manifest;
pub mod output;
pub(crate) mod stage;
pub mod tree;
