//! Unlocking a user locked out by failed logins.

use std::time::Duration;

use ironward_store::{Store, StoreError, UserId};

use crate::fixtures::t;
use crate::support::on_both;

async fn unlock_clears_the_lock_and_keeps_the_password(store: Store) {
    let user = store
        .create_user("dave", "viewer", &[], "$argon2id$keep", t(0))
        .await
        .unwrap();
    for _ in 0..3 {
        store
            .record_login_failure(user.id, t(1), 3, Duration::from_secs(600))
            .await
            .unwrap();
    }
    let locked = store.get_user(user.id).await.unwrap();
    assert_eq!(locked.failed_logins, 3);
    assert!(locked.locked_until.is_some());
    let unlocked = store.unlock_user(user.id).await.unwrap();
    assert_eq!(unlocked.failed_logins, 0);
    assert_eq!(unlocked.locked_until, None);
    assert_eq!(unlocked.password_hash, "$argon2id$keep");
    assert!(matches!(
        store.unlock_user(UserId(9_999)).await,
        Err(StoreError::NotFound)
    ));
}

on_both!(unlock, super::unlock_clears_the_lock_and_keeps_the_password);
