//! Why a scenario could not be evaluated. An outcome (a flow or a request
//! allowed or denied) is never an error; these are the cases where the
//! evaluators cannot say, each a bug in kharden or a limit of `verify`.

/// What stopped an evaluation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// A scenario entry that `verify::load` should have refused.
    #[error("internal error: {0}")]
    Unchecked(String),
    /// A rendered policy object lacks what its consumer reads.
    #[error("{0}")]
    Rendered(String),
    /// A rendered mutation `verify` does not apply.
    #[error("{0}")]
    Unsupported(String),
    /// A rule's Rego, run by regorus, failed.
    #[error("Rego of `{kind}`: {message}")]
    Rego { kind: String, message: String },
    /// A CEL expression did not compile or run.
    #[error("CEL `{expr}`: {message}")]
    Cel { expr: String, message: String },
    /// The CEL environment or a value conversion failed.
    #[error("CEL {0}")]
    CelSetup(String),
    /// An expression gave a value of the wrong type.
    #[error("{0}")]
    Type(String),
    /// A MutatingAdmissionPolicy's JSON Patch cannot apply.
    #[error("`{policy}`: {why}")]
    Patch { policy: String, why: PatchError },
}

/// Why a JSON Patch operation cannot apply to the object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    #[error("JSON Patch path `{0}` does not start with /")]
    NotAPointer(String),
    #[error("JSON Patch `{0}` on the whole object")]
    WholeObject(String),
    #[error("JSON Patch path `{path}`: `{segment}` does not exist")]
    Missing { path: String, segment: String },
    #[error("JSON Patch path `{path}`: no index `{index}`")]
    NoIndex { path: String, index: String },
    #[error("JSON Patch test of `{0}` failed")]
    TestFailed(String),
    #[error("JSON Patch `{op}` of `{path}` cannot apply")]
    CannotApply { op: String, path: String },
}
