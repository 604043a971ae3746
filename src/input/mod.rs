//! Stage 1, input: the profile's files and `extends:` layers (`source`, read
//! by `fast_yaml` in the common case), where every value came from
//! (`position`), the raw format (`profile`) and its schema check, the
//! diagnostics drawn against those positions (`diag`), and the two facts
//! from outside the profile: the date (`clock`) and the supported releases.

pub mod clock;
pub(crate) mod diag;
pub(crate) mod fast_yaml;
pub(crate) mod position;
pub(crate) mod profile;
pub mod releases;
pub(crate) mod schema_check;
pub(crate) mod source;
