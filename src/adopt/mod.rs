//! Adoption: `init` a starter profile, `import` one from a running cluster,
//! `audit` that cluster against the bundle.

pub mod audit;
pub mod import;
pub mod init;
