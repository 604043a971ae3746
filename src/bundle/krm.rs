//! KRM function mode (#14 item 4): `kharden krm` reads a ResourceList
//! (config.kubernetes.io/v1) on stdin whose `functionConfig` is the profile and
//! answers with a ResourceList whose `items` are the rendered objects, in the
//! order of `render -o -`. An invalid profile gives `results` of severity
//! `error` and no items, so kpt and kustomize stop with the report.

use serde_json::{Value, json};

use crate::input::clock::Date;

/// The answer to one ResourceList, and whether it succeeded.
pub fn run(input: &str, today: Date) -> (String, bool) {
    let (items, results) = match render(input, today) {
        Ok(items) => (items, Vec::new()),
        Err(messages) => (
            Vec::new(),
            messages
                .into_iter()
                .map(|m| json!({"message": m, "severity": "error"}))
                .collect(),
        ),
    };
    let ok = results.is_empty();
    let mut out = json!({
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": items,
    });
    if !ok {
        out["results"] = Value::Array(results);
    }
    let text = crate::bundle::manifest::Sorted::of(&out)
        .and_then(|s| crate::bundle::manifest::to_yaml(&s));
    match text {
        Ok(t) => (t, ok),
        Err(e) => (format!("# {e}\n"), false),
    }
}

fn render(input: &str, today: Date) -> Result<Vec<Value>, Vec<String>> {
    let list: Value = serde_saphyr::from_str(input)
        .map_err(|e| vec![format!("stdin is not a ResourceList: {e}")])?;
    if list["kind"] != "ResourceList" {
        return Err(vec![
            "stdin is not a ResourceList (`kind: ResourceList`)".to_owned(),
        ]);
    }
    let config = list
        .get("functionConfig")
        .filter(|c| !c.is_null())
        .ok_or_else(|| vec!["the ResourceList has no `functionConfig` (the profile)".to_owned()])?;
    let text = crate::bundle::manifest::to_yaml(config).map_err(|e| vec![e.to_string()])?;
    let model = crate::load_text(&text, "functionConfig", today).map_err(messages)?;
    let r = crate::render(&model).map_err(messages)?;
    crate::bundle::output::applied(&r.set)
        .into_iter()
        .map(|m| serde_saphyr::from_str(m.body()).map_err(|e| vec![format!("internal error: {e}")]))
        .collect()
}

/// One message per problem of a report (each starts at an `error:` headline).
fn messages(e: crate::Error) -> Vec<String> {
    let text = e.to_string();
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("error: the profile has") {
            continue;
        }
        match out.last_mut() {
            Some(last) if !line.starts_with("error:") => {
                last.push('\n');
                last.push_str(line);
            }
            _ => out.push(line.to_owned()),
        }
    }
    if out.is_empty() {
        out.push(text);
    }
    out
}
