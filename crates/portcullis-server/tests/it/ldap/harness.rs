//! The slapd harness itself: the fixture directory answers as the LDAP tests expect it to,
//! over plain LDAP, StartTLS and LDAPS, and survives a stop and a restart.

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use portcullis_server::testing::slapd::{BASE_DN, SERVICE_DN, SERVICE_PASSWORD, Slapd};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use std::sync::Arc;

const ALICE_DN: &str = "uid=alice,ou=people,dc=example,dc=org";
const BOB_DN: &str = "uid=bob,ou=people,dc=example,dc=org";

/// A rustls client config trusting only `ca_pem` (none when empty).
fn tls_config(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

async fn connect(url: &str, settings: LdapConnSettings) -> ldap3::result::Result<Ldap> {
    let (conn, ldap) = LdapConnAsync::with_settings(settings, url).await?;
    ldap3::drive!(conn);
    Ok(ldap)
}

async fn plain(slapd: &Slapd) -> Ldap {
    connect(&slapd.url(), LdapConnSettings::new())
        .await
        .unwrap()
}

/// The attributes of the entries that `filter` finds under `base`, by DN.
async fn search(ldap: &mut Ldap, base: &str, filter: &str, attrs: &[&str]) -> Vec<SearchEntry> {
    let (entries, _) = ldap
        .search(base, Scope::Subtree, filter, attrs.to_vec())
        .await
        .unwrap()
        .success()
        .unwrap();
    entries.into_iter().map(SearchEntry::construct).collect()
}

/// The result code of a base search of `dn` (32, noSuchObject, where the ACL hides it).
async fn search_rc(ldap: &mut Ldap, dn: &str) -> u32 {
    let result = ldap
        .search(dn, Scope::Base, "(objectClass=*)", vec!["uid"])
        .await
        .unwrap();
    result.1.rc
}

fn one<'a>(entry: &'a SearchEntry, attr: &str) -> &'a str {
    match entry.attrs.get(attr).map(Vec::as_slice) {
        Some([value]) => value,
        other => panic!("{attr} of {}: {other:?}", entry.dn),
    }
}

/// Binds as alice (checks the password) and reads her entry as the service account.
async fn check_directory(ldap: &mut Ldap) {
    let rc = ldap
        .simple_bind(SERVICE_DN, SERVICE_PASSWORD)
        .await
        .unwrap()
        .rc;
    assert_eq!(rc, 0, "service bind");
    let found = search(
        ldap,
        &format!("ou=people,{BASE_DN}"),
        "(uid=alice)",
        &["givenName", "sn", "mail", "userPassword"],
    )
    .await;
    assert_eq!(found.len(), 1);
    let alice = &found[0];
    assert_eq!(alice.dn, ALICE_DN);
    assert_eq!(one(alice, "givenName"), "Alice");
    assert_eq!(one(alice, "sn"), "Liddell");
    assert_eq!(one(alice, "mail"), "alice@example.org");
    assert!(
        !alice.attrs.contains_key("userPassword"),
        "passwords are never readable"
    );

    assert_eq!(
        ldap.simple_bind(ALICE_DN, "alice-pass").await.unwrap().rc,
        0
    );
    assert_eq!(ldap.simple_bind(ALICE_DN, "wrong").await.unwrap().rc, 49);
}

#[tokio::test]
async fn slapd_serves_the_fixture_over_ldap_starttls_and_ldaps_and_survives_a_restart() {
    let Some(mut slapd) = Slapd::start().await else {
        return;
    };
    assert!(slapd.ca_file().is_file());
    assert_eq!(
        std::fs::read_to_string(slapd.ca_file()).unwrap(),
        slapd.ca_pem()
    );

    // Plain LDAP: the fixture, the ACL, the groups.
    let mut ldap = plain(&slapd).await;
    check_directory(&mut ldap).await;
    // Alice reads her own entry and nothing else: to her, bob's entry does not exist.
    assert_eq!(
        ldap.simple_bind(ALICE_DN, "alice-pass").await.unwrap().rc,
        0
    );
    assert_eq!(
        search(&mut ldap, ALICE_DN, "(objectClass=*)", &["uid"])
            .await
            .len(),
        1
    );
    assert_eq!(search_rc(&mut ldap, BOB_DN).await, 32);
    // An unknown user is the same invalidCredentials as a wrong password.
    let nobody = ldap
        .simple_bind("uid=nobody,ou=people,dc=example,dc=org", "x")
        .await
        .unwrap();
    assert_eq!(nobody.rc, 49);
    // A DN with an empty password binds, as anonymous, who reads nothing: a client must
    // refuse empty passwords itself.
    assert_eq!(ldap.simple_bind(ALICE_DN, "").await.unwrap().rc, 0);
    assert_eq!(search_rc(&mut ldap, ALICE_DN).await, 32);

    // Group membership as the service account sees it.
    ldap.simple_bind(SERVICE_DN, SERVICE_PASSWORD)
        .await
        .unwrap();
    let groups = format!("ou=groups,{BASE_DN}");
    let member_of = |dn: &str| format!("(&(objectClass=groupOfNames)(member={dn}))");
    let mut names: Vec<String> = search(&mut ldap, &groups, &member_of(ALICE_DN), &["cn"])
        .await
        .iter()
        .map(|e| one(e, "cn").to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["portcullis-admins", "portcullis-users"]);
    let dave = "uid=dave,ou=people,dc=example,dc=org";
    assert!(
        search(&mut ldap, &groups, &member_of(dave), &["cn"])
            .await
            .is_empty()
    );
    let posix = search(
        &mut ldap,
        &groups,
        "(&(objectClass=posixGroup)(memberUid=bob))",
        &["cn"],
    )
    .await;
    let mut posix: Vec<&str> = posix.iter().map(|e| one(e, "cn")).collect();
    posix.sort_unstable();
    assert_eq!(posix, ["ops", "posix-admins"]);
    let alice = search(&mut ldap, ALICE_DN, "(objectClass=*)", &["memberOf"]).await;
    let mut alice_groups = alice[0].attrs["memberOf"].clone();
    alice_groups.sort();
    assert_eq!(
        alice_groups,
        [
            "cn=portcullis-admins,ou=groups,dc=example,dc=org",
            "cn=portcullis-users,ou=groups,dc=example,dc=org"
        ]
    );
    ldap.unbind().await.unwrap();

    // StartTLS and LDAPS, trusting the test CA.
    let config = tls_config(&slapd.ca_pem());
    let tls = || LdapConnSettings::new().set_config(config.clone());
    let mut starttls = connect(&slapd.url(), tls().set_starttls(true))
        .await
        .unwrap();
    check_directory(&mut starttls).await;
    starttls.unbind().await.unwrap();
    let mut ldaps = connect(&slapd.ldaps_url(), tls()).await.unwrap();
    check_directory(&mut ldaps).await;
    ldaps.unbind().await.unwrap();
    // A client that does not trust the test CA does not get through.
    let untrusting = LdapConnSettings::new().set_config(tls_config(""));
    assert!(
        connect(&slapd.ldaps_url(), untrusting.clone())
            .await
            .is_err()
    );
    assert!(
        connect(&slapd.url(), untrusting.set_starttls(true))
            .await
            .is_err()
    );

    // Stopped, it refuses connections; restarted, same ports, same data.
    slapd.stop().await;
    assert!(
        connect(&slapd.url(), LdapConnSettings::new())
            .await
            .is_err()
    );
    assert!(connect(&slapd.ldaps_url(), tls()).await.is_err());
    slapd.restart().await;
    let mut ldap = plain(&slapd).await;
    check_directory(&mut ldap).await;
    let mut ldaps = connect(&slapd.ldaps_url(), tls()).await.unwrap();
    check_directory(&mut ldaps).await;
}
