//! The pure core's import graph has no circle: no module of `src/` outside
//! `src/shell/` imports a module that imports it back, neither between
//! the core's top-level modules (`log`, `ledger`, `reply`, …) nor between
//! the files of one module (`log::chunk`, `log::layout`, …).
//!
//! Read from the sources as text: every `crate::…` and `super::…` path in
//! a file (its `use` lines and its code), resolved to the longest module
//! that exists. Tests are left out (a `tests.rs` file, and a file's
//! `#[cfg(test)] mod tests` block, which comes last by the project's
//! style): a test may use what it likes. So is what a module's own file
//! (`mod.rs`, or `params.rs` beside `params/`) says of its children:
//! declaring and re-exporting them is its shape, not a dependency.
//!
//! Run alone: `cargo test --test module_graph`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Every `.rs` file under `dir`.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("src is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file under `src/` is: `log::chunk` for `src/log/chunk.rs`,
/// `log` for `src/log/mod.rs`, `params` for `src/params.rs`.
fn module_of(relative: &Path) -> String {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The text of a file without its tests block.
fn without_tests(text: &str) -> &str {
    let mut offset = 0;
    let mut attribute = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed == "#[cfg(test)]" {
            attribute = Some(offset);
        } else if let Some(at) = attribute {
            if trimmed.starts_with("mod tests") {
                return &text[..at];
            }
            if !trimmed.starts_with("#[") {
                attribute = None;
            }
        }
        offset += line.len();
    }
    text
}

/// The paths a text names after `prefix` (`crate::` or `super::`), each
/// as its segments, a brace list (`super::{chunk::X, id}`) spread out.
fn paths_after(text: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().last();
        rest = &rest[at + prefix.len()..];
        // `self.super::` does not exist, but `my_crate::` would match
        // `crate::`: only a path that starts here counts.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(list) = rest.strip_prefix('{') {
            let end = list.find('}').unwrap_or(list.len());
            for item in list[..end].split(',') {
                let segments = segments(item.trim());
                if !segments.is_empty() {
                    found.push(segments);
                }
            }
        } else {
            let segments = segments(rest);
            if !segments.is_empty() {
                found.push(segments);
            }
        }
    }
    found
}

/// The leading `a::b::c` of a text.
fn segments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if ident.is_empty() {
            break;
        }
        rest = &rest[ident.len()..];
        out.push(ident);
        match rest.strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    out
}

/// The longest module of `modules` that `path` (absolute segments) names.
fn resolve(path: &[String], modules: &BTreeSet<String>) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| modules.contains(m))
}

/// The core's file-level graph: module → the modules it imports.
fn core_graph(src: &Path) -> Graph {
    let mut all = Vec::new();
    files(src, &mut all);
    let core: Vec<(String, String)> = all
        .iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(src).ok()?;
            let first = relative.components().next()?.as_os_str().to_string_lossy();
            let name = relative.file_name()?.to_string_lossy();
            if first == "shell"
                || name == "tests.rs"
                || relative.components().any(|c| c.as_os_str() == "tests")
            {
                return None;
            }
            if name == "lib.rs" {
                return None;
            }
            let text = fs::read_to_string(path).ok()?;
            Some((module_of(relative), without_tests(&text).to_owned()))
        })
        .collect();
    let modules: BTreeSet<String> = core.iter().map(|(m, _)| m.clone()).collect();
    let mut graph = Graph::new();
    for (module, text) in &core {
        let parent: Vec<String> = module.split("::").map(str::to_owned).collect();
        let mut targets = BTreeSet::new();
        for path in paths_after(text, "crate::") {
            targets.extend(resolve(&path, &modules));
        }
        for path in paths_after(text, "super::") {
            // `super::` is the parent of this file's module; `super::super::` its parent.
            let mut base = parent.clone();
            base.pop();
            let mut path = path;
            while path.first().is_some_and(|s| s == "super") {
                path.remove(0);
                base.pop();
            }
            let absolute: Vec<String> = base.into_iter().chain(path).collect();
            targets.extend(resolve(&absolute, &modules));
        }
        // What a module's own file says of its children is its shape.
        targets.retain(|t| t != module && !t.starts_with(&format!("{module}::")));
        graph.insert(module.clone(), targets);
    }
    graph
}

/// The graph between top-level modules: `log::chunk → reply` is `log → reply`.
fn top_level(graph: &Graph) -> Graph {
    let top = |m: &str| m.split("::").next().unwrap_or(m).to_owned();
    let mut out = Graph::new();
    for (from, targets) in graph {
        let entry = out.entry(top(from)).or_default();
        for to in targets {
            if top(to) != top(from) {
                entry.insert(top(to));
            }
        }
    }
    out
}

/// The files of one top-level module, and the imports among them.
fn within(graph: &Graph, top: &str) -> Graph {
    let inside = |m: &str| m == top || m.starts_with(&format!("{top}::"));
    graph
        .iter()
        .filter(|(m, _)| inside(m))
        .map(|(m, targets)| {
            (
                m.clone(),
                targets.iter().filter(|t| inside(t)).cloned().collect(),
            )
        })
        .collect()
}

/// A circle of `graph`, as the modules on it, first one repeated last.
fn circle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &Graph,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = stack.iter().position(|n| n == node).unwrap_or(0);
                let mut found = stack[start..].to_vec();
                found.push(node.to_owned());
                return Some(found);
            }
            None => {}
        }
        marks.insert(node.to_owned(), Mark::Open);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, marks, stack) {
                return Some(found);
            }
        }
        stack.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut marks, &mut Vec::new()))
}

#[test]
fn the_core_has_no_import_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = core_graph(&src);
    assert!(
        graph.contains_key("log::chunk") && graph.contains_key("ledger"),
        "{graph:?}"
    );
    assert!(
        graph["edge"].contains("ledger"),
        "the edge builds the ledger's submission"
    );
    let tops = top_level(&graph);
    if let Some(found) = circle(&tops) {
        panic!(
            "the core's modules import each other in a circle: {}",
            found.join(" → ")
        );
    }
    for top in tops.keys() {
        if let Some(found) = circle(&within(&graph, top)) {
            panic!(
                "the files of {top} import each other in a circle: {}",
                found.join(" → ")
            );
        }
    }
}

#[test]
fn a_circle_is_found_and_named() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g = Graph::new();
        for (from, to) in edges {
            g.entry((*from).to_owned())
                .or_default()
                .insert((*to).to_owned());
            g.entry((*to).to_owned()).or_default();
        }
        g
    };
    assert_eq!(circle(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])), None);
    let found = circle(&graph(&[
        ("admin", "campaign"),
        ("campaign", "ledger"),
        ("ledger", "log"),
        ("log", "admin"),
        ("log", "reply"),
    ]))
    .expect("a circle");
    assert_eq!(found.first(), found.last());
    assert_eq!(found.len(), 5, "{found:?}");
    // File level: two files of one module, and the top level sees none.
    let files = graph(&[
        ("log::bucket", "log::chunk"),
        ("log::chunk", "log::bucket"),
        ("log::chunk", "reply"),
    ]);
    assert_eq!(circle(&top_level(&files)), None);
    assert!(circle(&within(&files, "log")).is_some());
}

#[test]
fn paths_are_read_as_the_compiler_resolves_them() {
    let modules: BTreeSet<String> = ["log", "log::chunk", "log::id", "reply"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let paths = paths_after(
        "use super::{chunk::ChunkMeta, id};\nlet x = crate::reply::Reply::json(1);\nmy_crate::nope",
        "super::",
    );
    assert_eq!(
        paths,
        vec![
            vec!["chunk".to_owned(), "ChunkMeta".to_owned()],
            vec!["id".to_owned()]
        ]
    );
    let crate_paths = paths_after(
        "let x = crate::reply::Reply::json(1); my_crate::nope::x",
        "crate::",
    );
    assert_eq!(crate_paths.len(), 1);
    assert_eq!(resolve(&crate_paths[0], &modules).as_deref(), Some("reply"));
    assert_eq!(
        without_tests("fn a() {}\n#[cfg(test)]\nmod tests {\n use crate::x;\n}\n"),
        "fn a() {}\n"
    );
}
