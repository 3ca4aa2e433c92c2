//! The core's modules depend only downward: each top-level module of
//! `core/src` may name (`crate::x`) only modules of a lower layer. Strictly
//! lower, so no two modules can depend on each other and the graph has no
//! cycle. A new module needs a place in `LAYERS`; ARCHITECTURE.md draws
//! the same picture.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Bottom to top.
const LAYERS: &[&[&str]] = &[
    // Errors, the clock and plain building blocks.
    &["error", "clock", "base64url", "alg", "names", "replay"],
    // Strict JSON, client certificates.
    &["json", "mtls"],
    // The documents users write.
    &["policy"],
    // Keys, token headers, claim rules, token sources, unverified decoding.
    &["keys", "header", "claims", "sources", "unverified"],
    // What a verification produces and what it draws on.
    &["verified", "dpop", "jwks", "signer"],
    &["forward", "cache", "stats"],
    // The compiled policy.
    &["compiled"],
    &["verifier"],
    &["gateway"],
];

/// The top-level module of a file under `src`, `None` for the crate root
/// and the binaries.
fn module_of(relative: &Path) -> Option<String> {
    let mut parts = relative.iter().map(|p| p.to_string_lossy().into_owned());
    let first = parts.next()?;
    if first == "bin" || first == "lib.rs" {
        return None;
    }
    Some(first.trim_end_matches(".rs").to_owned())
}

/// The modules a file names outside its test module and comments.
fn references(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
    let mut found = Vec::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (at, _) in line.match_indices("crate::") {
            let rest = &line[at + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            // A grouped `crate::{...}` hides its modules from this check.
            found.push(if name.is_empty() { "{...}".to_owned() } else { name });
        }
    }
    found
}

fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<(String, String)>>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).unwrap();
            let Some(module) = module_of(relative) else { continue };
            let text = fs::read_to_string(&path).unwrap();
            for target in references(&text) {
                if target != module {
                    out.entry(module.clone()).or_default().push((target, relative.display().to_string()));
                }
            }
        }
    }
}

#[test]
fn modules_depend_only_on_lower_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layer_of = |m: &str| LAYERS.iter().position(|layer| layer.contains(&m));
    let mut edges = BTreeMap::new();
    walk(&root, &root, &mut edges);
    let mut problems = Vec::new();
    for entry in fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if let Some(module) = module_of(path.strip_prefix(&root).unwrap())
            && layer_of(&module).is_none()
        {
            problems.push(format!("module {module} has no layer in LAYERS"));
        }
    }
    for (module, targets) in &edges {
        let Some(from) = layer_of(module) else { continue };
        for (target, file) in targets {
            match layer_of(target) {
                Some(to) if to < from => {}
                Some(_) => problems.push(format!("{file}: {module} names {target}, which is not below it")),
                None => problems.push(format!("{file}: names crate::{target}, which has no layer")),
            }
        }
    }
    assert!(problems.is_empty(), "layering broken:\n{}", problems.join("\n"));
}
