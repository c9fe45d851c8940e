//! Both backends must carry the same migrations (same numbers and names), so a schema change
//! can never land in one engine only.

use std::path::Path;

/// Sorted file names of a `migrations/` folder.
#[expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test helper: an unreadable folder must fail the test"
)]
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| {
            entry
                .expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn both_backends_have_the_same_migration_files() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sqlite = names(&here.join("migrations"));
    let postgres = names(&here.join("../portcullis-store-postgres/migrations"));
    assert!(!sqlite.is_empty(), "no migrations found");
    assert_eq!(sqlite, postgres);
    for name in &sqlite {
        let (number, rest) = name.split_once('_').expect("NNNN_name.sql");
        assert_eq!(number.len(), 4, "{name}: four-digit number");
        assert!(number.chars().all(|c| c.is_ascii_digit()), "{name}");
        assert!(rest.ends_with(".sql"), "{name}");
    }
}
