//! Fuzz target: any bytes as a profile, through loading, validation, lint and
//! rendering to files and the stream, as `kharden render` does. Nothing may
//! panic, and a profile that passes validation must render: an internal error
//! after validation (a path rendered twice, emitted YAML that reads back
//! differently; cargo-fuzz builds with debug assertions, so `to_yaml` checks
//! every object it writes) is a bug too, and fails like a crash.
#![no_main]

use kharden::input::clock::Date;
use libfuzzer_sys::fuzz_target;

const TODAY: Date = Date {
    year: 2026,
    month: 11,
    day: 26,
};

fuzz_target!(|data: &[u8]| {
    // The file reader refuses non-UTF-8 before parsing; the text API starts after it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let model = match kharden::load_text(text, "fuzz.yaml", TODAY) {
        Ok(m) => m,
        Err(e) => {
            // The report is what users read; drawing it must not panic either.
            let _ = e.to_string();
            return;
        }
    };
    match kharden::render(&model) {
        Ok(r) => {
            let _ = kharden::bundle::output::stream(&r.set, &model.display);
            // The files as the render command makes them (Flux included).
            let name = &model.profile.metadata.name;
            let tree = kharden::bundle::fleet::files(name, &model.display, r.set)
                .unwrap_or_else(|e| panic!("valid profile, but writing files failed: {e}"));
            assert!(tree.contains("kustomization.yaml"));
            assert!(tree.into_files().contains_key("kustomization.yaml"));
        }
        // Error-level lint findings: a refusal with a report, not a bug.
        Err(kharden::Error::Refused(report)) => assert!(!report.is_empty()),
        Err(e) => panic!("valid profile, but rendering failed: {e}"),
    }
});
