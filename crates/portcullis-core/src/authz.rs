//! The authorization policy: who may read, change or delete what.
//!
//! Policy: every "may" decision of every surface lives here — the services enforce them,
//! the AWX OPTIONS metadata and `user_capabilities` flags report them, the console will show
//! or hide its buttons by them. A rule changed here changes everywhere at once, so OPTIONS
//! can never promise what the service refuses (docs/security.md, "Authorization").
//!
//! Two inputs decide: the acting user's role (superuser or not, which AWX calls the system
//! administrator) and, for callers authenticated by a token, the token's scope — a
//! `read`-scope token may never change anything, whatever its owner may do.

use crate::ids::UserId;
use crate::mdr::Role;
use crate::principal::Principal;
use crate::user::User;

/// Is `actor` a system administrator (AWX's superuser)? The coarse role most management
/// rules below reduce to today; each rule still has its own name so it can diverge.
pub fn is_administrator(actor: &User) -> bool {
    actor.is_superuser
}

/// May `actor` read every object and setting (superusers and system auditors)?
pub fn may_read_everything(actor: &User) -> bool {
    actor.can_read_all()
}

/// May `actor` create users, or make someone a superuser or system auditor?
pub fn may_administer_users(actor: &User) -> bool {
    is_administrator(actor)
}

/// May `actor` change `target`'s account (profile fields, password)? Superusers may change
/// anyone; everyone may change themselves (within [`may_administer_users`] for the
/// privilege fields and the username).
pub fn may_edit_user(actor: &User, target: &User) -> bool {
    actor.is_superuser || actor.id == target.id
}

/// May `actor` change `target`'s username? Only superusers; AWX refuses it to users
/// editing themselves.
pub fn may_rename_user(actor: &User) -> bool {
    actor.is_superuser
}

/// Why deleting a user is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteUser {
    /// Allowed.
    Allowed,
    /// Nobody may delete themselves (AWX's specific refusal, for superusers too).
    Self_,
    /// Only superusers delete users.
    NotPermitted,
    /// The last active superuser stays (the caller reports it as [`DeleteUser::Self_`]'s
    /// text, as AWX does).
    LastSuperuser,
}

/// May `actor` delete `target`, given how many active superusers exist?
pub fn may_delete_user(actor: &User, target: &User, active_superusers: i64) -> DeleteUser {
    if actor.id == target.id {
        DeleteUser::Self_
    } else if !actor.is_superuser {
        DeleteUser::NotPermitted
    } else if target.is_superuser && target.is_active && active_superusers <= 1 {
        DeleteUser::LastSuperuser
    } else {
        DeleteUser::Allowed
    }
}

/// Why switching a user's `is_active` flag is refused (the console's deactivate and
/// reactivate; the same guards as [`may_delete_user`], since a deactivated superuser can no
/// more administer the server than a deleted one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetActive {
    /// Allowed.
    Allowed,
    /// Nobody deactivates themselves (it would end the caller's own session mid-action).
    Self_,
    /// Only superusers activate or deactivate users.
    NotPermitted,
    /// The last active superuser stays active.
    LastSuperuser,
}

/// May `actor` set `target`'s `is_active` to `active`, given how many active superusers
/// exist? Reactivation is never the last-superuser case; deactivation mirrors deletion.
pub fn may_set_user_active(
    actor: &User,
    target: &User,
    active: bool,
    active_superusers: i64,
) -> SetActive {
    if !actor.is_superuser {
        SetActive::NotPermitted
    } else if active {
        SetActive::Allowed
    } else {
        match may_delete_user(actor, target, active_superusers) {
            DeleteUser::Allowed => SetActive::Allowed,
            DeleteUser::Self_ => SetActive::Self_,
            DeleteUser::NotPermitted => SetActive::NotPermitted,
            DeleteUser::LastSuperuser => SetActive::LastSuperuser,
        }
    }
}

/// May `viewer` see a token owned by `owner`? Its owner, superusers and system auditors.
pub fn may_read_token(viewer: &User, owner: UserId) -> bool {
    viewer.can_read_all() || viewer.id == owner
}

/// May `actor` change or revoke a token owned by `owner`? Its owner and superusers (a
/// system auditor reads, never changes).
pub fn may_change_token(actor: &User, owner: UserId) -> bool {
    actor.is_superuser || actor.id == owner
}

/// Whose tokens a bulk revocation names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeTarget {
    /// Every token of one user.
    User(UserId),
    /// Every token of every user.
    Everyone,
}

/// May `actor` revoke in bulk for `target`? Users may revoke all of their own tokens;
/// only superusers may revoke another user's or everyone's.
pub fn may_revoke_for(actor: &User, target: RevokeTarget) -> bool {
    match target {
        RevokeTarget::User(id) => actor.is_superuser || actor.id == id,
        RevokeTarget::Everyone => actor.is_superuser,
    }
}

/// May `actor` use the console's bulk-revocation tools (every token, another user's tokens,
/// external users' tokens)? Administrators only: an ordinary user revokes their own tokens one
/// at a time there (the API's `POST /api/v2/tokens/revoke/` still lets them revoke all of
/// their own, by [`may_revoke_for`]).
pub fn may_revoke_in_bulk(actor: &User) -> bool {
    is_administrator(actor)
}

/// May `actor` create, change or delete OAuth2 applications?
pub fn may_manage_applications(actor: &User) -> bool {
    is_administrator(actor)
}

/// May `actor` read or change the system settings (and see every category)?
pub fn may_manage_settings(actor: &User) -> bool {
    is_administrator(actor)
}

/// May `actor` manage organizations' memberships and the compatibility objects
/// (inventories, hosts) of other users?
pub fn may_manage_organizations(actor: &User) -> bool {
    is_administrator(actor)
}

/// May `actor` use the console's API: MDR customers, tenants and connections, and
/// the SOC side of the demonstration resources?
pub fn may_manage_mdr(actor: &User) -> bool {
    is_administrator(actor)
}

/// May `actor` manage one customer's tenants and API connections (create, Refresh, Revoke,
/// Delete, view, exchange audit)? Superusers always; otherwise only the customer's MDR
/// administrators (`administers_customer`: `actor` holds that customer's role). The role
/// grants nothing else: creating customers and granting the role stay [`may_manage_mdr`].
pub fn may_manage_customer(actor: &User, administers_customer: bool) -> bool {
    may_manage_mdr(actor) || (actor.is_active && administers_customer)
}

/// May this caller change anything at all? False for `read`-scope tokens.
pub fn may_write(p: &Principal) -> bool {
    p.scope.allows_write()
}

/// The `user_capabilities` of a user object as `viewer` sees it: (edit, delete).
pub fn user_capabilities(viewer: &Principal, target: &User) -> (bool, bool) {
    let writes = may_write(viewer);
    let edit = writes && may_edit_user(&viewer.user, target);
    // What the delete button offers: the count of superusers is not known to a list
    // render, and AWX shows the button to superusers for everyone but themselves.
    let delete = writes && viewer.user.is_superuser && viewer.user.id != target.id;
    (edit, delete)
}

/// What an MDR connection's action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MdrAction {
    /// Reads and ordinary writes (incidents, comments, attachments).
    Use,
    /// Deciding on responses (`response/update`, `responses/update`).
    DecideResponses,
}

/// May an MDR connection with `role` perform `action`?
pub fn mdr_role_allows(role: Role, action: MdrAction) -> bool {
    match action {
        MdrAction::Use => true,
        MdrAction::DecideResponses => role.may_decide_responses(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::AuthVia;
    use crate::scope::Scope;

    fn user(id: i64, superuser: bool) -> User {
        User {
            id: UserId(id),
            username: format!("u{id}"),
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            password_hash: None,
            is_superuser: superuser,
            is_system_auditor: false,
            is_active: true,
            external_account: None,
            ldap_dn: String::new(),
            auth_generation: 0,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            last_login: None,
        }
    }

    #[test]
    fn only_administrators_revoke_in_bulk() {
        let (admin, alice) = (user(1, true), user(2, false));
        assert!(may_revoke_in_bulk(&admin));
        assert!(!may_revoke_in_bulk(&alice));
        assert!(may_revoke_for(&alice, RevokeTarget::User(alice.id)));
        assert!(!may_revoke_for(&alice, RevokeTarget::Everyone));
    }

    #[test]
    fn users_edit_themselves_and_superusers_edit_everyone() {
        let (admin, alice, bob) = (user(1, true), user(2, false), user(3, false));
        assert!(may_edit_user(&admin, &alice));
        assert!(may_edit_user(&alice, &alice));
        assert!(!may_edit_user(&alice, &bob));
        assert!(!may_rename_user(&alice));
        assert!(may_administer_users(&admin) && !may_administer_users(&alice));
    }

    #[test]
    fn deletion_refuses_self_non_superusers_and_the_last_superuser() {
        let (admin, other_admin, alice) = (user(1, true), user(4, true), user(2, false));
        assert_eq!(may_delete_user(&admin, &admin, 2), DeleteUser::Self_);
        assert_eq!(may_delete_user(&alice, &admin, 2), DeleteUser::NotPermitted);
        assert_eq!(
            may_delete_user(&admin, &other_admin, 1),
            DeleteUser::LastSuperuser
        );
        assert_eq!(
            may_delete_user(&admin, &other_admin, 2),
            DeleteUser::Allowed
        );
        assert_eq!(may_delete_user(&admin, &alice, 1), DeleteUser::Allowed);
    }

    #[test]
    fn deactivation_refuses_self_non_superusers_and_the_last_superuser() {
        let (admin, other_admin, alice) = (user(1, true), user(4, true), user(2, false));
        assert_eq!(
            may_set_user_active(&admin, &admin, false, 2),
            SetActive::Self_
        );
        assert_eq!(
            may_set_user_active(&alice, &admin, false, 2),
            SetActive::NotPermitted
        );
        assert_eq!(
            may_set_user_active(&alice, &alice, true, 2),
            SetActive::NotPermitted
        );
        assert_eq!(
            may_set_user_active(&admin, &other_admin, false, 1),
            SetActive::LastSuperuser
        );
        assert_eq!(
            may_set_user_active(&admin, &other_admin, false, 2),
            SetActive::Allowed
        );
        assert_eq!(
            may_set_user_active(&admin, &alice, false, 1),
            SetActive::Allowed
        );
        let mut gone = other_admin.clone();
        gone.is_active = false;
        assert_eq!(
            may_set_user_active(&admin, &gone, true, 1),
            SetActive::Allowed
        );
    }

    #[test]
    fn tokens_belong_to_their_owner_and_superusers() {
        let (admin, alice) = (user(1, true), user(2, false));
        assert!(may_read_token(&alice, UserId(2)));
        assert!(!may_change_token(&alice, UserId(1)));
        assert!(may_change_token(&admin, UserId(2)));
        assert!(may_revoke_for(&alice, RevokeTarget::User(UserId(2))));
        assert!(!may_revoke_for(&alice, RevokeTarget::User(UserId(1))));
        assert!(!may_revoke_for(&alice, RevokeTarget::Everyone));
        assert!(may_revoke_for(&admin, RevokeTarget::Everyone));
    }

    #[test]
    fn a_read_token_has_no_capabilities() {
        let admin = user(1, true);
        let p = |scope| Principal {
            user: std::sync::Arc::new(admin.clone()),
            via: AuthVia::Pat,
            scope,
            session: None,
            connection: None,
        };
        let alice = user(2, false);
        assert_eq!(user_capabilities(&p(Scope::READ), &alice), (false, false));
        assert_eq!(user_capabilities(&p(Scope::WRITE), &alice), (true, true));
        assert_eq!(user_capabilities(&p(Scope::WRITE), &admin), (true, false));
    }

    #[test]
    fn customers_are_managed_by_superusers_and_their_mdr_administrators() {
        let (admin, alice) = (user(1, true), user(2, false));
        assert!(may_manage_customer(&admin, false));
        assert!(may_manage_customer(&alice, true));
        assert!(!may_manage_customer(&alice, false));
        // The role is per customer only: it never reaches customer creation or granting.
        assert!(!may_manage_mdr(&alice));
        let disabled = User {
            is_active: false,
            ..alice
        };
        assert!(!may_manage_customer(&disabled, true));
    }

    #[test]
    fn only_senior_roles_decide_responses() {
        assert!(mdr_role_allows(Role::SecurityOfficer, MdrAction::Use));
        assert!(!mdr_role_allows(
            Role::SecurityOfficer,
            MdrAction::DecideResponses
        ));
        assert!(mdr_role_allows(
            Role::SeniorSecurityOfficer,
            MdrAction::DecideResponses
        ));
    }
}
