//! The on-disk registry: cargo's index paths, the JSON lines, the crate files,
//! and rewrites between runs that touch only what changed.

use std::fs;

use serde_json::{Value, json};

use crate::harness::{IndexEntry, TestRegistry, crate_file, index_path, sha256_hex};

fn parse_lines(registry: &TestRegistry, name: &str) -> Vec<Value> {
    fs::read_to_string(registry.index_file(name))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn index_paths_follow_cargo() {
    assert_eq!(index_path("a"), "1/a");
    assert_eq!(index_path("ab"), "2/ab");
    assert_eq!(index_path("abc"), "3/a/abc");
    assert_eq!(index_path("serde"), "se/rd/serde");
    assert_eq!(index_path("Inflector"), "in/fl/inflector");
    assert_eq!(index_path("A-b"), "3/a/a-b");
}

#[test]
fn add_writes_config_index_and_crate() {
    let mut registry = TestRegistry::new();
    let v1 = crate_file("serde", "1.0.0", &[("src/lib.rs", b"")]);
    let v2 = crate_file("serde", "1.0.1", &[("src/lib.rs", b"//")]);
    registry
        .add("serde", "1.0.0", v1.clone())
        .add("serde", "1.0.1", v2.clone());

    let lines = parse_lines(&registry, "serde");
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0],
        json!({"name": "serde", "vers": "1.0.0", "deps": [], "cksum": sha256_hex(&v1),
               "features": {}, "yanked": false, "links": null})
    );
    assert_eq!(lines[1]["vers"], "1.0.1");
    assert_eq!(lines[1]["cksum"], sha256_hex(&v2));

    // config.json's dl, with the markers filled in, names the crate file.
    let config: Value = serde_json::from_slice(&fs::read(registry.index_dir().join("config.json")).unwrap()).unwrap();
    let dl = config["dl"].as_str().unwrap();
    let url = dl.replace("{crate}", "serde").replace("{version}", "1.0.1");
    let path = url.strip_prefix("file://").unwrap();
    assert_eq!(fs::read(path).unwrap(), v2);
    assert!(registry.file_url().starts_with("file:///"));
    assert!(registry.file_url().ends_with("/index/"));
    let index_dir = registry.file_url().strip_prefix("file://").unwrap().to_owned();
    assert!(fs::metadata(format!("{index_dir}config.json")).is_ok());
}

#[test]
fn add_entry_controls_every_field() {
    let mut registry = TestRegistry::new();
    let bytes = crate_file("Links-Sys", "0.1.0-alpha+build.7", &[]);
    registry.add_entry(IndexEntry {
        deps: vec![json!({"name": "libc", "req": "^0.2", "features": [], "optional": false,
                          "default_features": true, "target": null, "kind": "normal"})],
        cksum: Some("00".repeat(32)),
        features: json!({"std": []}),
        yanked: true,
        links: Some("z".into()),
        v: Some(2),
        rust_version: Some("1.70".into()),
        pubtime: Some("2024-01-02T03:04:05Z".into()),
        extra: vec![
            ("features2".into(), json!({"x": ["dep:libc"]})),
            ("unknown".into(), json!(7)),
        ],
        ..IndexEntry::new("Links-Sys", "0.1.0-alpha+build.7", bytes.clone())
    });
    registry.add_raw_line("links-sys", "{not json");

    let text = fs::read_to_string(registry.index_dir().join("li/nk/links-sys")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], "{not json");
    let first: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(first["name"], "Links-Sys");
    assert_eq!(first["cksum"], "00".repeat(32));
    assert_eq!(first["yanked"], true);
    assert_eq!(first["links"], "z");
    assert_eq!(first["v"], 2);
    assert_eq!(first["rust_version"], "1.70");
    assert_eq!(first["pubtime"], "2024-01-02T03:04:05Z");
    assert_eq!(first["features2"]["x"][0], "dep:libc");
    assert_eq!(first["unknown"], 7);
    assert_eq!(first["deps"][0]["req"], "^0.2");
    // Fields in crates.io's order, extras last.
    assert!(lines[0].starts_with(r#"{"name":"Links-Sys","vers":"0.1.0-alpha+build.7","deps":"#));
    assert!(lines[0].ends_with(",\"unknown\":7}"));
    assert_eq!(
        fs::read(registry.crate_path("Links-Sys", "0.1.0-alpha+build.7")).unwrap(),
        bytes
    );
}

#[test]
fn mutations_rewrite_only_what_changed() {
    let mut registry = TestRegistry::new();
    registry
        .add("serde", "1.0.0", b"a".to_vec())
        .add("syn", "2.0.0", b"b".to_vec());
    let serde_file = registry.index_file("serde");
    let syn_file = registry.index_file("syn");
    let mtime = |p: &std::path::Path| fs::metadata(p).unwrap().modified().unwrap();
    let (serde_before, syn_before) = (mtime(&serde_file), mtime(&syn_file));

    registry.add("serde", "1.1.0", b"c".to_vec());
    assert_eq!(parse_lines(&registry, "serde").len(), 2);
    assert!(mtime(&serde_file) > serde_before);
    assert_eq!(mtime(&syn_file), syn_before);

    registry.yank("serde", "1.0.0", true);
    assert_eq!(parse_lines(&registry, "serde")[0]["yanked"], true);
    registry.update("serde", "1.1.0", |e| e.cksum = Some("ff".repeat(32)));
    assert_eq!(parse_lines(&registry, "serde")[1]["cksum"], "ff".repeat(32));
    assert_eq!(registry.lines("serde").len(), 2);

    registry.remove_version("serde", "1.0.0");
    assert_eq!(parse_lines(&registry, "serde").len(), 1);
    assert!(!registry.crate_path("serde", "1.0.0").exists());

    registry.remove_crate("syn");
    assert!(!syn_file.exists());
    assert!(!registry.crate_path("syn", "2.0.0").exists());

    // A version without a file: the index line only.
    registry.add_entry(IndexEntry {
        crate_bytes: None,
        cksum: Some("11".repeat(32)),
        ..IndexEntry::new("gone", "0.1.0", Vec::new())
    });
    assert_eq!(parse_lines(&registry, "gone").len(), 1);
    assert!(!registry.crate_path("gone", "0.1.0").exists());
}
