//! `kharden explain`: where a value comes from, a summary of the cluster, or
//! the flow graph as Mermaid.

use super::cli::{ExplainArgs, ExplainFormat};
use super::{Outcome, load, usage};
use crate::review::explain;

pub(crate) fn run(a: ExplainArgs) -> Outcome {
    Outcome::of(|out| {
        let m = load(&a.profile)?;
        match (a.path, a.format) {
            (None, ExplainFormat::Mermaid) => {
                let r = crate::render(&m)?;
                out.print(&crate::review::report::graph::mermaid(&m, &r.set));
            }
            (Some(_), ExplainFormat::Mermaid) => {
                return Err(usage(
                    "`--format mermaid` draws the flow graph; give no value path",
                ));
            }
            (None, ExplainFormat::Text) => out.print(&explain::overview(&m)),
            (Some(p), ExplainFormat::Text) => out.print(&explain::value(&m, &p)?),
        }
        Ok(0)
    })
}
