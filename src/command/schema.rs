//! `kharden schema`: the JSON Schema of the profile format, or of `verify`
//! scenarios, for editors.

use super::Outcome;
use super::cli::SchemaArgs;

pub(crate) fn run(a: SchemaArgs) -> Outcome {
    Outcome::of(|out| {
        let schema = if a.scenario {
            crate::verify::scenario_schema()
        } else {
            crate::pipeline::model::profile_schema()
        };
        let text = serde_json::to_string_pretty(&schema)
            .map_err(crate::bundle::manifest::RenderError::internal)?;
        out.print(&format!("{text}\n"));
        Ok(0)
    })
}
