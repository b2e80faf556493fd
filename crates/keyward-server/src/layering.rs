//! The module graph of this crate, checked: no import cycles between
//! modules, and the layer rule (`routes` → `flows` → `store`, `domain`;
//! `store` and `domain` never look up). Read from the source files, so a
//! `use crate::…` (or an inline `crate::…` path) that breaks it fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`flows::step_ups`) → the modules it refers to.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// Every `.rs` file under `dir` as a module path (`foo/bar.rs` → `foo::bar`).
fn modules(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            modules(&path, &format!("{prefix}{name}::"), out);
        } else if let Some(stem) = name.strip_suffix(".rs") {
            let module = match (prefix, stem) {
                ("", "lib" | "main") => String::new(),
                _ => format!("{prefix}{stem}"),
            };
            if let Ok(text) = std::fs::read_to_string(&path) {
                out.insert(module, text);
            }
        }
    }
}

/// The source without comments and without its `#[cfg(test)] mod tests`.
fn code(text: &str) -> String {
    let text = text
        .find("#[cfg(test)]\nmod tests")
        .map_or(text, |i| &text[..i]);
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths named after `crate::` in `code`, with `use crate::a::{b, c::d}`
/// groups expanded (one level of nesting is all this crate uses).
fn crate_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let base = rest[..end].trim_end_matches(':').to_owned();
        if rest[end..].starts_with('{')
            && let Some(close) = rest[end..].find('}')
        {
            for item in rest[end + 1..end + close].split(',') {
                let item = item.split(" as ").next().unwrap_or_default().trim();
                let item = item
                    .split('{')
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches(':');
                match item {
                    "" => {}
                    "self" => paths.push(base.clone()),
                    item if base.is_empty() => paths.push(item.to_owned()),
                    item => paths.push(format!("{base}::{item}")),
                }
            }
        } else {
            paths.push(base);
        }
    }
    paths
}

/// The longest module that is a prefix of `path`.
fn owner<'a>(path: &str, modules: &'a BTreeMap<String, String>) -> Option<&'a str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|m| modules.get_key_value(&m).map(|(k, _)| k.as_str()))
}

/// This crate's sources, by module path.
fn sources() -> BTreeMap<String, String> {
    let mut sources = BTreeMap::new();
    modules(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        "",
        &mut sources,
    );
    sources
}

fn graph() -> Graph {
    let sources = sources();
    let mut graph = Graph::new();
    for (module, text) in &sources {
        let edges = graph.entry(module.clone()).or_default();
        for path in crate_paths(&code(text)) {
            if let Some(target) = owner(&path, &sources)
                && target != module
                && !target.is_empty()
            {
                edges.insert(target.to_owned());
            }
        }
    }
    graph
}

/// One cycle of `graph`, if it has any (depth-first search).
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or_default()
}

#[test]
fn the_module_graph_has_no_cycles() {
    let graph = graph();
    assert!(graph.contains_key("flows::step_ups"), "sources not found");
    assert_eq!(find_cycle(&graph), None, "an import cycle");
}

#[test]
fn layers_only_look_down() {
    // What each layer may not import (by top-level module).
    let forbidden: &[(&str, &[&str])] = &[
        (
            "domain",
            &[
                "routes", "flows", "store", "state", "config", "error", "extract", "auth", "db",
            ],
        ),
        ("store", &["routes", "flows", "state", "extract", "auth"]),
        ("flows", &["routes"]),
        ("routes", &["store", "db"]),
    ];
    let mut broken = Vec::new();
    for (module, edges) in graph() {
        for (layer, banned) in forbidden {
            if top(&module) == *layer {
                broken.extend(
                    edges
                        .iter()
                        .filter(|e| banned.contains(&top(e)))
                        .map(|e| format!("{module} -> {e}")),
                );
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports against the layer rule: {broken:#?}"
    );
}

#[test]
fn all_sql_is_in_store_or_db() {
    let sources = sources();
    let outside: Vec<&String> = sources
        .iter()
        .filter(|(module, text)| {
            let home = matches!(top(module), "store" | "db" | "layering");
            !home && code(text).contains(concat!("sqlx::", "query"))
        })
        .map(|(module, _)| module)
        .collect();
    assert!(outside.is_empty(), "SQL outside store/ and db: {outside:?}");
}

#[test]
fn the_checker_sees_grouped_and_inline_paths() {
    let paths = crate_paths(
        "use crate::store::{self, audit, users::UserRow};\nlet x = crate::clock::now();",
    );
    assert_eq!(
        paths,
        [
            "store",
            "store::audit",
            "store::users::UserRow",
            "clock::now"
        ]
    );
    let mut g = Graph::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("a".into());
    assert!(find_cycle(&g).is_some());
}
