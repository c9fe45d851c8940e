//! LDAP against a real OpenLDAP slapd (`portcullis_server::testing::slapd`).

mod harness;
