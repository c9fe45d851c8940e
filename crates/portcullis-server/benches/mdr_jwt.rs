//! MDR JWT costs (`docs/mdr-api.md`, "JWT format"): signing and verifying an access token with
//! Ed25519 and with ES256, through the same key ring the server uses. `cargo bench --bench
//! mdr_jwt`.

#![expect(
    clippy::unwrap_used,
    reason = "benchmark set-up: a failure must stop the run"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_core::jwt::{Expect, MdrClaims, Purpose};
use portcullis_server::service::mdr_keys::{Kek, KeyRing, generate_key};
use portcullis_store::KeyState;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let now = portcullis_core::clock::Clock::now(&portcullis_core::clock::SystemClock);
    let iat = now.unix_timestamp();
    let client = "0123456789abcdef0123456789abcdef";
    let claims = MdrClaims::new(
        Purpose::Access,
        "urn:portcullis:mdr",
        client,
        "AbCdEfGhIjKlMnOpQrSt",
        "TsRqPoNmLkJiHgFeDcBa",
        "AAAAAAAAAAAAAAAAAAAAAA",
        iat,
        iat + 3600,
    );
    let expect = Expect {
        purpose: Purpose::Access,
        issuer: "urn:portcullis:mdr",
        client_id: client,
        now: iat,
        leeway: 60,
    };
    let mut g = c.benchmark_group("mdr_jwt");
    for alg in ["EdDSA", "ES256"] {
        let kek = Kek::from_bytes(&[9u8; 32]).unwrap();
        let key = generate_key(alg, &kek, KeyState::Active, now).unwrap();
        let ring = KeyRing::from_records(&[key], kek).unwrap();
        let token = ring.sign(Purpose::Access, &claims).unwrap();
        assert!(ring.verify_loaded(&token, &expect).is_ok());
        g.bench_function(format!("sign/{alg}"), |b| {
            b.iter(|| ring.sign(Purpose::Access, black_box(&claims)).unwrap());
        });
        g.bench_function(format!("verify/{alg}"), |b| {
            b.iter(|| ring.verify_loaded(black_box(&token), &expect).unwrap());
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
