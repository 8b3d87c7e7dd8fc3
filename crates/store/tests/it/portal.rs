//! Portal accounts and sessions, on every backend.

use store::{Batch, SessionRow, Store, UserRow};

use crate::backends::on_every_backend;

fn user(name: &str, subject: &str) -> UserRow {
    UserRow {
        username: name.into(),
        subject: subject.into(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$salt${name}"),
        created_at_ms: 1_000,
        disabled_at_ms: None,
    }
}

fn session(token_hash: &str, username: &str, created: i64, seen: i64) -> SessionRow {
    SessionRow {
        token_hash: token_hash.into(),
        username: username.into(),
        csrf_token: format!("csrf-{token_hash}"),
        created_at_ms: created,
        last_seen_ms: seen,
    }
}

#[test]
fn accounts_are_created_listed_replaced_and_disabled() {
    on_every_backend(|s: &dyn Store| {
        let zoe = user("zoe", "regulator:zone_office");
        let ann = user("ann", "3301960AAA");
        s.put_user(&zoe).unwrap();
        s.put_user(&ann).unwrap();
        assert_eq!(s.user("ann").unwrap(), Some(ann.clone()));
        assert_eq!(s.user("nobody").unwrap(), None);
        assert_eq!(s.users().unwrap(), vec![ann.clone(), zoe.clone()]);

        // Replacing by username keeps one account.
        let moved = user("ann", "3301960BBB");
        s.put_user(&moved).unwrap();
        assert_eq!(s.users().unwrap().len(), 2);
        assert_eq!(s.user("ann").unwrap().unwrap().subject, "3301960BBB");

        assert!(s.set_user_disabled("ann", Some(5_000)).unwrap());
        assert_eq!(s.user("ann").unwrap().unwrap().disabled_at_ms, Some(5_000));
        assert!(s.set_user_disabled("ann", None).unwrap());
        assert_eq!(s.user("ann").unwrap().unwrap().disabled_at_ms, None);
        assert!(!s.set_user_disabled("nobody", Some(1)).unwrap());
    });
}

#[test]
fn sessions_are_found_touched_and_deleted() {
    on_every_backend(|s: &dyn Store| {
        s.put_user(&user("ann", "3301960AAA")).unwrap();
        s.put_user(&user("bob", "3301960BBB")).unwrap();
        let a1 = session("h-a1", "ann", 100, 100);
        s.put_session(&a1).unwrap();
        s.put_session(&session("h-a2", "ann", 100, 100)).unwrap();
        s.put_session(&session("h-b1", "bob", 100, 100)).unwrap();
        assert_eq!(s.session("h-a1").unwrap(), Some(a1.clone()));
        assert_eq!(s.session("nope").unwrap(), None);
        // A token hash is unique: a second session with it is refused.
        assert!(s.put_session(&session("h-a1", "bob", 1, 1)).is_err());

        s.touch_session("h-a1", 900).unwrap();
        assert_eq!(s.session("h-a1").unwrap().unwrap().last_seen_ms, 900);
        // Activity never moves backwards (two requests finishing out of order).
        s.touch_session("h-a1", 400).unwrap();
        assert_eq!(s.session("h-a1").unwrap().unwrap().last_seen_ms, 900);

        assert!(s.delete_session("h-a2").unwrap());
        assert!(!s.delete_session("h-a2").unwrap());
        assert_eq!(s.session("h-a2").unwrap(), None);
        assert_eq!(s.delete_sessions_of("bob").unwrap(), 1);
        assert_eq!(s.session("h-b1").unwrap(), None);
        assert_eq!(
            s.session("h-a1").unwrap(),
            Some(SessionRow {
                last_seen_ms: 900,
                ..a1
            })
        );
    });
}

#[test]
fn disabling_or_a_new_password_ends_the_sessions_at_once() {
    on_every_backend(|s: &dyn Store| {
        s.put_user(&user("ann", "3301960AAA")).unwrap();
        s.put_user(&user("bob", "3301960BBB")).unwrap();
        s.put_session(&session("h-a", "ann", 1, 1)).unwrap();
        s.put_session(&session("h-b", "bob", 1, 1)).unwrap();
        assert!(s.set_user_disabled("ann", Some(10)).unwrap());
        assert_eq!(s.session("h-a").unwrap(), None);
        assert!(s.session("h-b").unwrap().is_some());

        assert!(s.set_user_password("bob", "$argon2id$new").unwrap());
        assert_eq!(s.session("h-b").unwrap(), None);
        assert_eq!(
            s.user("bob").unwrap().unwrap().password_hash,
            "$argon2id$new"
        );
        assert!(!s.set_user_password("nobody", "x").unwrap());
    });
}

#[test]
fn expired_sessions_are_swept_by_idle_and_absolute_age() {
    on_every_backend(|s: &dyn Store| {
        s.put_user(&user("ann", "3301960AAA")).unwrap();
        s.put_session(&session("idle", "ann", 1_000, 1_000))
            .unwrap();
        s.put_session(&session("old", "ann", 10, 5_000)).unwrap();
        s.put_session(&session("fresh", "ann", 1_000, 5_000))
            .unwrap();
        // Idle before 2,000 or created before 500.
        assert_eq!(s.delete_expired_sessions(2_000, 500).unwrap(), 2);
        assert_eq!(s.session("idle").unwrap(), None);
        assert_eq!(s.session("old").unwrap(), None);
        assert!(s.session("fresh").unwrap().is_some());
    });
}

#[test]
fn accounts_and_sessions_are_outside_the_projections() {
    on_every_backend(|s: &dyn Store| {
        let before = s.projection_digest().unwrap();
        s.put_user(&user("ann", "3301960AAA")).unwrap();
        s.put_session(&session("h", "ann", 1, 1)).unwrap();
        assert_eq!(s.projection_digest().unwrap(), before);
        s.commit(&Batch {
            applied: 0,
            ..Batch::default()
        })
        .unwrap();
        s.reset_projections().unwrap();
        assert!(s.user("ann").unwrap().is_some());
        assert!(s.session("h").unwrap().is_some());
    });
}

#[test]
fn declarations_are_counted_by_status() {
    on_every_backend(|s: &dyn Store| {
        assert_eq!(s.declaration_status_counts().unwrap(), vec![]);
        let mut rows = Vec::new();
        for (i, status) in [800, 100, 800, 2, 800].into_iter().enumerate() {
            let mut d = crate::fixtures::declaration(&format!("D{i}"));
            d.status = status;
            rows.push(d);
        }
        s.commit(&Batch {
            applied: 0,
            declarations: rows,
            ..Batch::default()
        })
        .unwrap();
        assert_eq!(
            s.declaration_status_counts().unwrap(),
            vec![(2, 1), (100, 1), (800, 3)]
        );
    });
}
