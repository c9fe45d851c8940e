//! The conformance suite both backends must pass. Each check is an async function taking a
//! fresh, migrated store; backends call them from their own `tests/it` (see
//! [`conformance_tests!`](crate::conformance_tests)).
//!
//! Policy: every check asserts stored values, not just "no error"; times are fixed instants
//! (whole milliseconds, as core's clock produces), never the wall clock. Checks may count rows,
//! so each one needs a fresh, empty, migrated store.
//!
//! Adding a check: write it as `pub async fn name(store: Arc<dyn Store>)` in its group's
//! module and list it in [`conformance_tests!`](crate::conformance_tests).

#![expect(
    clippy::expect_used,
    reason = "this is test code shipped behind a feature: a failed store call must fail the test"
)]

pub mod activity;
pub mod apps;
pub mod changes;
pub mod mdr;
pub mod mdr_admins;
pub mod mdr_objects;
pub mod resources;
pub mod sessions;
pub mod settings;
pub mod signing_keys;
pub mod sso;
pub mod store;
pub mod throttle;
pub mod tokens;
pub mod users;

use crate::{ApplicationRecord, NewActivity, NewApplication, NewSession, NewUser, Store};
use portcullis_core::ids::UserId;
use portcullis_core::session::SessionTimes;
use portcullis_core::token::TokenHash;
use portcullis_core::user::User;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// Expands to one `#[tokio::test]` per conformance check, each calling `$factory().await` for a
/// fresh, migrated store.
///
/// `$factory` is an `async fn() -> Option<Arc<dyn Store>>`; `None` means the backend is not
/// reachable here, and the test then passes after printing a loud `SKIPPED` line (the factory
/// decides whether that is allowed, e.g. it must panic instead when `CI` is set). The tests are
/// generated in a module `conformance` with one sub-module per group, so they read as
/// `conformance::sessions::cap_evicts_the_oldest_sessions`. The calling crate needs `tokio`
/// (macros, multi-thread runtime) as a (dev-)dependency.
///
/// ```text
/// async fn store() -> Option<Arc<dyn Store>> { /* fresh migrated store */ }
/// portcullis_store::conformance_tests!(store);
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($factory:path) => {
        $crate::__conformance_tests! { $factory;
            changes {
                revocations_and_changes_are_logged,
                the_purge_keeps_recent_entries,
                the_feed_delivers_committed_changes,
            }
            store {
                ping_answers_and_names_the_backend,
                a_nul_in_a_string_is_invalid_input_never_unavailable,
            }
            users {
                create_user_round_trips_and_looks_up,
                duplicate_username_is_a_conflict,
                list_users_filters_by_exact_match,
                list_users_applies_lookups_or_groups_and_search,
                organization_membership_restricts_listings,
                list_users_orders_with_id_tiebreak_and_pages,
                update_user_applies_only_given_fields,
                rename_onto_a_taken_username_is_a_conflict,
                disabling_a_user_bumps_the_generation,
                directory_sync_never_takes_over_a_local_password,
                delete_user_cascades_to_sessions,
                count_active_superusers_ignores_disabled_and_plain_users,
                change_password_bumps_generation_and_rekeys_the_kept_session,
                change_password_without_keep_ends_every_session,
                upgrade_password_hash_is_conditional,
                record_login_stamps_last_login,
                missing_users_are_not_found,
            }
            sessions {
                create_session_is_found_with_its_user,
                session_for_a_missing_user_is_not_found,
                cap_evicts_the_oldest_sessions,
                cap_breaks_creation_time_ties_by_insertion_order,
                replace_deletes_the_presented_session,
                extend_sessions_sets_the_given_expiry,
                delete_session_reports_whether_it_existed,
                delete_user_sessions_spares_the_exception,
                purge_removes_sessions_at_or_past_a_deadline,
            }
            settings {
                settings_round_trip_with_nested_json,
                install_secret_first_writer_wins,
                install_secret_race_has_one_winner,
            }
            activity {
                user_changes_write_activity_newest_first,
                failed_change_writes_no_activity,
                settings_writes_record_activity,
                password_change_and_disable_record_activity,
                list_activity_filters_and_pages,
            }
            tokens {
                create_token_round_trips_for_both_kinds,
                create_token_for_a_missing_owner_is_not_found,
                bearer_lookup_ends_at_the_deadline,
                bearer_lookup_requires_an_active_user,
                delete_token_also_kills_its_refresh_token,
                list_tokens_filters_by_owner_application_and_kind,
                list_tokens_applies_exact_match_filters,
                list_tokens_orders_with_id_tiebreak_and_pages,
                update_token_changes_only_description_and_scope,
                stamp_last_used_keeps_the_latest_instant,
                token_changes_write_activity,
                rotate_refresh_issues_a_successor_in_the_family,
                rotate_refresh_with_another_client_changes_nothing,
                expired_refresh_token_is_refused_without_revoking,
                a_spent_token_past_its_deadline_is_expired_not_reuse,
                the_family_cap_bounds_successors,
                refresh_presented_within_tolerance_is_a_lost_race,
                reused_refresh_token_revokes_family,
                concurrent_rotations_have_one_winner,
                rotate_refresh_for_an_inactive_user_is_unknown,
                revoke_access_token_by_hash_spares_its_refresh_token,
                revoke_refresh_token_by_hash_kills_the_family,
                revoke_by_hash_refuses_pats_and_other_clients,
                revoke_user_tokens_counts_and_spares_other_users,
                revoke_all_tokens_covers_only_existing_tokens,
                revoke_all_tokens_with_refresh_covers_refresh_tokens,
                bulk_revocations_write_activity,
                revoke_external_users_tokens_hits_only_external_users,
                purge_removes_expired_rows_and_keeps_reuse_detection,
                refresh_token_owner_sees_only_usable_refresh_tokens,
                delete_user_cascades_to_tokens,
            }
            apps {
                create_application_round_trips_and_looks_up,
                application_name_is_unique_per_organization,
                list_applications_filters_orders_and_pages,
                update_application_applies_the_patch,
                delete_application_cascades_to_tokens_and_codes,
                auth_code_is_consumed_once_with_its_fields,
                auth_code_checks_expiry_and_client,
                concurrent_code_consumption_has_one_winner,
                a_replayed_code_revokes_its_family,
            }
            resources {
                create_inventory_round_trips_and_counts_hosts,
                duplicate_inventory_name_is_a_conflict,
                list_inventories_filters_orders_and_pages,
                create_host_requires_its_inventory_and_a_unique_name,
                list_hosts_filters_and_restricts_to_an_inventory,
                update_and_delete_hosts,
                update_and_delete_inventories,
                unknown_filter_fields_match_nothing,
                list_inventories_and_hosts_apply_lookups_and_search,
            }
            throttle {
                throttle_locks_after_the_free_failures_and_doubles,
                refused_attempts_never_extend_a_lock,
                throttle_counter_resets_after_a_quiet_period,
                throttle_clear_and_distinct_keys,
                concurrent_reserves_grant_exactly_free_plus_one,
                a_stamp_later_than_now_is_not_a_lock_below_the_free_count,
                throttle_locked_reads_without_counting,
                window_full_follows_the_sliding_window,
                window_reserve_is_atomic_and_releasable,
                remember_source_honours_the_since_boundary,
            }
            mdr {
                customers_round_trip_and_list_oldest_first,
                tenants_are_unique_per_customer_and_listed_by_name,
                create_connection_returns_the_pending_record,
                create_connection_refuses_taken_names_and_missing_customers,
                list_connections_is_oldest_first_per_customer,
                update_connection_applies_the_patch,
                refresh_connection_only_while_pending,
                revoke_connection_only_while_activated,
                delete_connection_removes_it_and_its_tokens,
                exchange_of_the_bootstrap_token_rotates,
                exchange_with_mismatched_claims_is_revoked,
                grace_replays_the_pair_until_the_successor_is_spent,
                past_the_grace_period_a_spent_token_is_a_loser_or_reuse,
                without_grace_a_spent_token_is_a_loser_then_reuse,
                concurrent_exchanges_without_grace_have_one_winner,
                concurrent_exchanges_with_grace_all_get_the_winners_pair,
                touch_connections_keeps_the_later_instant,
                exchange_audit_is_newest_first_per_customer,
                purge_removes_only_dead_records_past_their_deadline,
            }
            mdr_admins {
                grants_round_trip_and_revoke,
                grant_for_missing_customer_or_user_is_not_found,
                deleting_the_user_removes_the_grant,
            }
            signing_keys {
                first_key_is_inserted_once,
                concurrent_first_keys_have_one_winner,
                promote_swaps_the_active_key,
                concurrent_promotes_have_one_winner,
                retire_key_from_any_state,
                retire_verify_only_keys_by_deactivation_instant,
            }
            sso {
                a_flow_is_taken_once,
                identities_link_once_and_go_with_the_user,
                sso_sessions_end_by_sid_or_subject,
                markers_are_single_use_and_purged,
            }
            mdr_objects {
                objects_round_trip_and_list_in_creation_order,
                duplicate_object_is_a_conflict,
                upsert_inserts_or_replaces,
                replace_object_compares_and_sets,
                delete_object_removes_one,
                object_content_round_trips_bytes,
                incident_numbers_count_per_customer,
                concurrent_incident_numbers_are_distinct,
            }
        }
    };
}

/// Implementation detail of [`conformance_tests!`](crate::conformance_tests).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($factory:path; $($group:ident { $($check:ident),* $(,)? })*) => {
        async fn __portcullis_conformance_store()
            -> ::std::option::Option<::std::sync::Arc<dyn $crate::Store>>
        {
            $factory().await
        }

        mod conformance {
            $(
                mod $group {
                    $(
                        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                        async fn $check() {
                            match super::super::__portcullis_conformance_store().await {
                                ::std::option::Option::Some(store) => {
                                    $crate::conformance::$group::$check(store).await;
                                }
                                ::std::option::Option::None => {
                                    // To the stderr handle: `eprintln!` output of a passing
                                    // test is captured and never shown.
                                    let _ignored = ::std::io::Write::write_all(
                                        &mut ::std::io::stderr(),
                                        ::std::format!(
                                            "!!!!! SKIPPED conformance::{}::{}: backend unavailable !!!!!\n",
                                            ::std::stringify!($group),
                                            ::std::stringify!($check),
                                        )
                                        .as_bytes(),
                                    );
                                }
                            }
                        }
                    )*
                }
            )*
        }
    };
}

/// The instant every check counts from (whole milliseconds, like core's clock).
pub(crate) fn t0() -> OffsetDateTime {
    datetime!(2026-03-01 12:00:00.250 UTC)
}

/// `t0` plus `ms` milliseconds.
pub(crate) fn at(ms: i64) -> OffsetDateTime {
    t0() + Duration::milliseconds(ms)
}

/// A local user with predictable fields.
pub(crate) fn new_user(username: &str) -> NewUser {
    NewUser {
        username: username.to_owned(),
        email: format!("{username}@example.com"),
        first_name: format!("First {username}"),
        last_name: format!("Last {username}"),
        password_hash: Some(format!("$argon2id$v=19$hash-of-{username}")),
        is_superuser: false,
        is_system_auditor: false,
        external_account: None,
        ldap_dn: String::new(),
        created_at: t0(),
    }
}

/// Creates `new` without an activity entry.
pub(crate) async fn create(store: &dyn Store, new: NewUser) -> User {
    store
        .create_user(new, None)
        .await
        .expect("create_user failed")
}

/// A session hash that is easy to tell apart in assertions.
pub(crate) fn hash(n: u8) -> TokenHash {
    let mut b = [n; 32];
    // Vary the last byte too, so a backend that compared a prefix only would be caught.
    b[31] = n.wrapping_mul(7).wrapping_add(1);
    TokenHash::from_bytes(b)
}

/// A session of `user` created at `created` (30 min idle, 8 h absolute), generation `generation`.
pub(crate) fn new_session(
    user: UserId,
    h: TokenHash,
    created: OffsetDateTime,
    generation: i64,
) -> NewSession {
    NewSession {
        hash: h,
        user_id: user,
        times: SessionTimes::new(created, Duration::minutes(30), Duration::hours(8)),
        auth_generation: generation,
    }
}

/// An activity entry about `object1` #`id` by `actor`.
pub(crate) fn activity(
    operation: &str,
    object1: &str,
    id: Option<i64>,
    actor: Option<UserId>,
    changes: serde_json::Value,
) -> NewActivity {
    NewActivity {
        timestamp: t0(),
        actor,
        operation: operation.to_owned(),
        object1: object1.to_owned(),
        object1_id: id,
        changes,
    }
}

/// An application named `name` in `organization`: confidential, password grant, with a
/// client id and secret hash derived from the name.
pub(crate) fn new_app(name: &str, organization: Option<i64>) -> NewApplication {
    NewApplication {
        name: name.to_owned(),
        description: format!("about {name}"),
        client_id: format!(
            "{:x<40}",
            format!("cid-{name}-{}", organization.unwrap_or(0))
        ),
        secret_hash: Some(TokenHash::of(&format!("pcl_cs_secret-of-{name}"))),
        client_type: "confidential".to_owned(),
        redirect_uris: format!("https://{name}.example.com/cb"),
        authorization_grant_type: "password".to_owned(),
        skip_authorization: false,
        organization,
        created_at: t0(),
    }
}

/// Creates application `name` (no organization) without an activity entry.
pub(crate) async fn create_app(store: &dyn Store, name: &str) -> ApplicationRecord {
    store
        .create_application(new_app(name, None), None)
        .await
        .expect("create_application failed")
}
