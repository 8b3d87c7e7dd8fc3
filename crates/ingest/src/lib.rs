//! The writer of OneWindow, without HTTP: intake (bytes → engine commands, one row per message
//! kind in [`kinds`]), the signature gate, the pipeline with group commit, mapping and outlet
//! (domain ↔ wire and rows), and the retention purge. The server, the CLI jobs (`bench`,
//! `backfill`, `replay`, `rebuild`, `purge`) and a later bus consumer all drive the writer through
//! this crate; what it refuses comes back as typed values ([`intake::Refusal`],
//! [`pipeline::PipelineError`]) that each caller answers in its own way.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod clock;
pub mod intake;
pub mod json;
pub mod kinds;
pub mod mapping;
pub mod outlet;
pub mod pipeline;
pub mod purge;
pub mod signatures;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod shape {
    /// `scripts/check-shape.sh`: no HTTP in the writer's build, and no dependency on `server`.
    #[test]
    fn ingest_has_no_http() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/check-shape.sh");
        let out = std::process::Command::new("bash")
            .arg(script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
