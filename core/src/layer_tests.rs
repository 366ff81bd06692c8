//! Keeps the crate free of import circles: reads every module's source, lists its `crate::` imports, and checks
//! them against the layer drawing in the crate's doc (`lib.rs`), so that a circle (or an import that goes up a
//! layer, the first step towards one) fails a test instead of creeping back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name -> the crate modules it imports (itself excluded).
type Graph = BTreeMap<String, BTreeSet<String>>;

/// The modules of `src/` and their imports; test-only modules (`*_tests.rs`) are no layer and are left out. A
/// module split into a directory (`src/starter/*.rs`) is one node: the union of its files' imports.
fn module_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    for entry in std::fs::read_dir(&src).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            let mut text = String::new();
            for file in std::fs::read_dir(&path).expect("a module directory") {
                let file = file.expect("a directory entry").path();
                if file.extension().is_some_and(|e| e == "rs") {
                    text += &std::fs::read_to_string(&file).expect("a module file");
                }
            }
            sources.insert(name, text);
        } else if path.extension().is_some_and(|e| e == "rs")
            && name != "lib"
            && !name.ends_with("_tests")
        {
            sources.insert(name, std::fs::read_to_string(&path).expect("a module file"));
        }
    }
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    sources
        .iter()
        .map(|(name, source)| {
            let imports = crate_paths(source)
                .into_iter()
                .filter(|m| m != name && modules.contains(m))
                .collect();
            (name.clone(), imports)
        })
        .collect()
}

/// The first segment of every `crate::` path in a source, comments left out; `use crate::{a, b::c}` gives `a`
/// and `b`.
fn crate_paths(source: &str) -> BTreeSet<String> {
    let code: String = source
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let Some(group) = rest.strip_prefix('{') else {
            found.insert(ident(rest));
            continue;
        };
        // A group: the identifiers that start an item at the group's own depth.
        let mut depth = 1;
        let mut item_start = true;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 1 => break,
                '}' => depth -= 1,
                ',' if depth == 1 => item_start = true,
                c if c.is_whitespace() => {}
                _ if item_start && depth == 1 => {
                    found.insert(ident(&group[i..]));
                    item_start = false;
                }
                _ => {}
            }
        }
    }
    found.retain(|s| !s.is_empty());
    found
}

/// A circle of imports, if there is one, as the list of modules around it.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut done, &mut Vec::new()))
}

/// The layer of each module, read from the drawing in `lib.rs`'s doc (lines `//! N  module module ...`).
fn documented_layers() -> BTreeMap<String, u32> {
    include_str!("lib.rs")
        .lines()
        .filter_map(|l| l.strip_prefix("//! "))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let layer = words.next()?.parse::<u32>().ok()?;
            Some(
                words
                    .map(move |m| (m.to_string(), layer))
                    .collect::<Vec<_>>(),
            )
        })
        .flatten()
        .collect()
}

#[test]
fn the_parser_sees_every_form_of_import() {
    let source = "use crate::error::TaskerError;\nuse crate::{a, b::{c, d}, e::f};\n\
                  let x = crate::g::h(); // crate::not_me\n";
    let found: Vec<String> = crate_paths(source).into_iter().collect();
    assert_eq!(found, ["a", "b", "e", "error", "g"]);
}

#[test]
fn find_cycle_finds_one() {
    let graph: Graph = [("a", "b"), ("b", "c"), ("c", "a")]
        .iter()
        .map(|(from, to)| (from.to_string(), BTreeSet::from([to.to_string()])))
        .collect();
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
}

#[test]
fn modules_import_no_circle() {
    let graph = module_graph();
    assert!(
        graph.len() > 10,
        "the module files were not found: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import circle: {}", cycle.join(" -> "));
    }
}

#[test]
fn imports_go_down_the_documented_layers() {
    let layers = documented_layers();
    let graph = module_graph();
    let placed: BTreeSet<&String> = layers.keys().collect();
    let modules: BTreeSet<&String> = graph.keys().collect();
    assert_eq!(
        placed, modules,
        "the layer drawing in lib.rs must place every module, and only those"
    );
    for (module, imports) in &graph {
        for import in imports {
            assert!(
                layers[import] < layers[module],
                "{module} (layer {}) imports {import} (layer {}): a module may only import from layers below",
                layers[module],
                layers[import]
            );
        }
    }
}
