//! Certificates filed for enterprises: filed, rotated, revoked and re-filed in journal order, on
//! every backend; reset and digested like every projection.

use store::{Batch, CertificateChange, CertificateRow, Store};

use crate::backends::{on_every_backend, postgres, sqlite};

fn cert(enterprise: &str, fingerprint: &str, filed_at_ms: i64) -> CertificateRow {
    CertificateRow {
        enterprise: enterprise.into(),
        fingerprint: fingerprint.into(),
        serial: "01691fe9".into(),
        subject: "CN=3301960EAA,O=测试".into(),
        algorithm: "SM2".into(),
        not_before_ms: 1_577_836_800_000,
        not_after_ms: 2_524_521_600_000,
        der: vec![0x30, 0x82, 0x00, 0xff, 0x00],
        filed_at_ms,
        revoked_at_ms: None,
    }
}

fn apply(s: &dyn Store, applied: i64, changes: Vec<CertificateChange>) {
    s.commit(&Batch {
        applied,
        certificates: changes,
        ..Batch::default()
    })
    .unwrap();
}

fn revoke(enterprise: &str, fingerprint: &str, at_ms: i64) -> CertificateChange {
    CertificateChange::Revoke {
        enterprise: enterprise.into(),
        fingerprint: fingerprint.into(),
        at_ms,
    }
}

#[test]
fn certificates_are_filed_rotated_and_listed_per_enterprise() {
    on_every_backend(|s: &dyn Store| {
        let old = cert("E1", "bb", 10);
        let new = cert("E1", "aa", 20);
        let other = cert("E2", "cc", 5);
        apply(
            s,
            1,
            vec![
                CertificateChange::File(old.clone()),
                CertificateChange::File(other.clone()),
            ],
        );
        apply(s, 2, vec![CertificateChange::File(new.clone())]);
        // Rotation: both are on file, oldest filing first.
        assert_eq!(
            s.certificates(Some("E1")).unwrap(),
            vec![old.clone(), new.clone()]
        );
        assert_eq!(s.certificates(Some("E3")).unwrap(), vec![]);
        assert_eq!(s.certificates(None).unwrap(), vec![old, new, other]);
    });
}

#[test]
fn a_revocation_stays_until_the_certificate_is_filed_again() {
    on_every_backend(|s: &dyn Store| {
        let c = cert("E1", "aa", 10);
        // Filed and revoked in one batch: applied in order.
        apply(
            s,
            1,
            vec![CertificateChange::File(c.clone()), revoke("E1", "aa", 15)],
        );
        let revoked = CertificateRow {
            revoked_at_ms: Some(15),
            ..c.clone()
        };
        assert_eq!(s.certificates(Some("E1")).unwrap(), vec![revoked.clone()]);
        // Revoking again keeps the first time; another enterprise's revocation touches nothing.
        apply(s, 2, vec![revoke("E1", "aa", 99), revoke("E2", "aa", 99)]);
        assert_eq!(s.certificates(Some("E1")).unwrap(), vec![revoked]);
        // Filed again: live again, with the new filing time.
        let refiled = CertificateRow {
            filed_at_ms: 30,
            ..c
        };
        apply(s, 3, vec![CertificateChange::File(refiled.clone())]);
        assert_eq!(s.certificates(Some("E1")).unwrap(), vec![refiled]);
    });
}

#[test]
fn certificates_are_a_projection_reset_and_digested_like_the_others() {
    on_every_backend(|s: &dyn Store| {
        let empty = s.projection_digest().unwrap();
        apply(s, 0, vec![CertificateChange::File(cert("E1", "aa", 10))]);
        let filed = s.projection_digest().unwrap();
        assert_ne!(filed, empty);
        apply(s, 0, vec![revoke("E1", "aa", 11)]);
        assert_ne!(s.projection_digest().unwrap(), filed);
        s.reset_projections().unwrap();
        assert_eq!(s.certificates(None).unwrap(), vec![]);
        assert_eq!(s.projection_digest().unwrap(), empty);
    });
}

#[test]
fn sqlite_and_postgres_digest_the_same_certificates_alike() {
    let Some((_schema, pg)) = postgres() else {
        return;
    };
    let (_dir, lite) = sqlite();
    let changes = vec![
        CertificateChange::File(cert("中", "aa", 1)),
        CertificateChange::File(cert("B", "bb", 2)),
        CertificateChange::File(cert("a", "cc", 3)),
        revoke("B", "bb", 4),
    ];
    apply(&*lite, 1, changes.clone());
    apply(&*pg, 1, changes);
    assert_eq!(
        lite.projection_digest().unwrap(),
        pg.projection_digest().unwrap()
    );
    assert_eq!(
        lite.certificates(None).unwrap(),
        pg.certificates(None).unwrap()
    );
}
