use crate::{CODES, SAMPLES};
use ceb::schema::{import_schema, validate_root};
use ceb::xml::{Limits, parse_document};

#[test]
fn all_import_samples_validate_against_the_compiled_xsd() {
    for code in CODES {
        let bytes = std::fs::read(format!("{SAMPLES}CEB{code}Message.xml")).unwrap();
        let doc = parse_document(&bytes, &Limits::default()).unwrap();
        let issues = validate_root(import_schema(), &doc.root);
        assert!(issues.is_empty(), "CEB{code}: {issues:#?}");
    }
}

const EXPORT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/gacc-ceb-202205/samples/export/"
);

fn export_issues(code: &str) -> Vec<ceb::Issue> {
    let bytes = std::fs::read(format!("{EXPORT}CEB{code}Message.xml")).unwrap();
    let doc = parse_document(&bytes, &Limits::default()).unwrap();
    validate_root(ceb::schema::export_schema(), &doc.root)
}

#[test]
fn export_samples_pass_or_fail_for_the_documented_reasons() {
    for code in [
        "213", "215", "216", "304", "404", "506", "508", "510", "604", "606", "608", "701", "702",
    ] {
        let issues = export_issues(code);
        assert!(issues.is_empty(), "CEB{code}: {issues:#?}");
    }
    for code in ["303", "403", "505", "507", "509", "603", "605", "607"] {
        let issues = export_issues(code);
        assert!(
            issues
                .iter()
                .any(|i| i.path.ends_with("/BaseTransfer[2]") && i.rule == "max-occurs"),
            "CEB{code} should fail on the second BaseTransfer: {issues:#?}"
        );
    }
    let issues = export_issues("792");
    assert!(
        issues
            .iter()
            .any(|i| i.path.ends_with("/gseqno") && i.rule == "required"),
        "{issues:#?}"
    );
    let issues = export_issues("214");
    assert!(
        issues
            .iter()
            .any(|i| i.path == "/CEB214" && i.rule == "unexpected-element"),
        "{issues:#?}"
    );
}
