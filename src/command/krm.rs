//! `kharden krm`: the KRM function, a ResourceList in, a ResourceList out;
//! exit 1 when the answer holds error results.

use std::io::Read;

use super::Outcome;
use crate::{Error, input::clock};

/// Answer the ResourceList read from `input` (stdin, for `main`).
pub(crate) fn run(input: &mut dyn Read) -> Outcome {
    Outcome::of(|out| {
        let mut text = String::new();
        input
            .read_to_string(&mut text)
            .map_err(|e| Error::io("read stdin".to_owned(), e))?;
        let (answer, ok) = crate::bundle::krm::run(&text, clock::today()?);
        out.print(&answer);
        Ok(if ok { 0 } else { 1 })
    })
}
