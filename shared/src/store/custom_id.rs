//! Changing a user's custom ID: the rules, as pure functions over the user as read and the new
//! custom ID's marker, shared by both stores. Each store writes the plan in one atomic step.

use crate::error::{Error, Result};
use crate::identity::{CustomId, IdentityKey, ProjectId, UserId};
use crate::store::accounts::check_identity_room;
use crate::user::UserWithIdentities;

/// Give `user` the custom ID `new`, freeing the one it had.
#[derive(Debug, Clone)]
pub struct CustomIdChange {
    pub project: ProjectId,
    pub user: UserId,
    pub new: CustomId,
    pub now: i64,
    /// Who asked, for the audit record written with the change.
    pub by: crate::audit::Audit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomIdOutcome {
    Changed,
    /// It already was the user's custom ID: nothing was written.
    Unchanged,
}

/// What a change writes, decided before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomIdPlan {
    /// The identity freed (its marker and identity item go), if the user had a custom ID.
    pub old: Option<IdentityKey>,
    pub new: IdentityKey,
    /// The user already holds `new` (a custom ID that came with a merge): its marker and
    /// identity item stay, only the profile's custom ID moves to it.
    pub new_already_held: bool,
}

/// What a change comes to, from the user as read and the new custom ID's marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomIdDecision {
    /// It already is the user's custom ID: nothing to write.
    Unchanged,
    Change(CustomIdPlan),
    /// The profile names the new custom ID but its marker is not the user's: the two reads
    /// straddle a concurrent change of this user. Read again (only a store whose reads are not
    /// one snapshot can see this).
    ReadAgain,
}

/// `owner` is who holds the new custom ID's marker, if anyone.
pub fn plan_custom_id_change(
    user: &UserWithIdentities,
    owner: Option<UserId>,
    cmd: &CustomIdChange,
) -> Result<CustomIdDecision> {
    let new = IdentityKey::custom_id(&cmd.new);
    let new_already_held = match owner {
        Some(o) if o != user.user.id => return Err(Error::IdentityTaken),
        Some(_) => true,
        None => false,
    };
    if user.user.custom_id.as_ref() == Some(&cmd.new) {
        return Ok(if new_already_held {
            CustomIdDecision::Unchanged
        } else {
            CustomIdDecision::ReadAgain
        });
    }
    let old = user.user.custom_id.as_ref().map(IdentityKey::custom_id);
    // A user without a custom ID (one an unlink left standalone) gains an identity here.
    if old.is_none() && !new_already_held {
        check_identity_room(&user.identities, 1)?;
    }
    Ok(CustomIdDecision::Change(CustomIdPlan {
        old,
        new,
        new_already_held,
    }))
}

/// The user as the change leaves it. The session version is bumped: every token carries the
/// `server_custom_id` it was issued for, and a token naming a custom ID the user no longer has
/// (and another user may soon take) must not stay usable.
pub fn apply_custom_id_change(
    user: &UserWithIdentities,
    plan: &CustomIdPlan,
    cmd: &CustomIdChange,
) -> UserWithIdentities {
    let mut out = user.clone();
    if let Some(old) = &plan.old {
        out.identities.retain(|i| i != old);
    }
    if !plan.new_already_held {
        out.identities.push(plan.new.clone());
    }
    out.identities.sort();
    out.user.custom_id = Some(cmd.new.clone());
    out.user.session_version += 1;
    out.user.version += 1;
    out.user.updated_at = cmd.now;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::User;

    fn user(custom: Option<&str>, extra: &[&str]) -> UserWithIdentities {
        let custom_id = custom.map(|c| CustomId::parse(c).unwrap());
        let mut identities: Vec<IdentityKey> = custom_id
            .iter()
            .chain(
                extra
                    .iter()
                    .map(|c| CustomId::parse(c).unwrap())
                    .collect::<Vec<_>>()
                    .iter(),
            )
            .map(IdentityKey::custom_id)
            .collect();
        identities.sort();
        UserWithIdentities {
            user: User {
                id: UserId::new_random(),
                project: ProjectId::new_random(),
                custom_id,
                nickname: None,
                external_id: None,
                partner_id: None,
                attributes: Vec::new(),
                session_version: 3,
                version: 7,
                created_at: 1,
                updated_at: 1,
                last_login: 1,
                ban: None,
            },
            identities,
        }
    }

    fn changed(decision: Result<CustomIdDecision>) -> CustomIdPlan {
        match decision.unwrap() {
            CustomIdDecision::Change(plan) => plan,
            other => panic!("expected a change, got {other:?}"),
        }
    }

    fn change(u: &UserWithIdentities, new: &str) -> CustomIdChange {
        CustomIdChange {
            project: u.user.project,
            user: u.user.id,
            new: CustomId::parse(new).unwrap(),
            now: 9,
            by: Default::default(),
        }
    }

    #[test]
    fn the_same_custom_id_again_is_nothing_to_do() {
        let u = user(Some("a"), &[]);
        assert_eq!(
            plan_custom_id_change(&u, Some(u.user.id), &change(&u, "a")).unwrap(),
            CustomIdDecision::Unchanged
        );
        // The profile already changed but the marker read came from before: read again,
        // never a transaction that would free and take the same marker.
        assert_eq!(
            plan_custom_id_change(&u, None, &change(&u, "a")).unwrap(),
            CustomIdDecision::ReadAgain
        );
    }

    #[test]
    fn a_custom_id_of_another_user_is_refused() {
        let u = user(Some("a"), &[]);
        let err = plan_custom_id_change(&u, Some(UserId::new_random()), &change(&u, "b"));
        assert!(matches!(err, Err(Error::IdentityTaken)), "{err:?}");
    }

    #[test]
    fn a_free_custom_id_replaces_the_old_one_and_ends_the_sessions() {
        let u = user(Some("a"), &[]);
        let cmd = change(&u, "b");
        let plan = changed(plan_custom_id_change(&u, None, &cmd));
        assert_eq!(
            plan.old,
            Some(IdentityKey::custom_id(&CustomId::parse("a").unwrap()))
        );
        assert!(!plan.new_already_held);
        let after = apply_custom_id_change(&u, &plan, &cmd);
        assert_eq!(after.identities, vec![plan.new.clone()]);
        assert_eq!(after.user.custom_id, Some(cmd.new.clone()));
        assert_eq!((after.user.session_version, after.user.version), (4, 8));
    }

    #[test]
    fn a_custom_id_the_user_got_by_a_merge_becomes_its_main_one() {
        let u = user(Some("a"), &["merged"]);
        let cmd = change(&u, "merged");
        let plan = changed(plan_custom_id_change(&u, Some(u.user.id), &cmd));
        assert!(plan.new_already_held);
        let after = apply_custom_id_change(&u, &plan, &cmd);
        assert_eq!(after.identities, vec![plan.new.clone()]);
    }

    #[test]
    fn a_user_without_a_custom_id_gains_one() {
        let u = user(None, &["other"]);
        let cmd = change(&u, "new");
        let plan = changed(plan_custom_id_change(&u, None, &cmd));
        assert_eq!(plan.old, None);
        assert_eq!(apply_custom_id_change(&u, &plan, &cmd).identities.len(), 2);
    }
}
