//! The executor's files stay in layers a reader can climb.
//!
//! The crate docs (`src/lib.rs`) list every file with its layer, L0 (the
//! leaves) to L4 (the loop). This test reads that table and the `crate::`
//! paths each file uses (and `super::` paths inside a folder such as
//! `blocking/`), and fails if a file uses one of a higher layer, if
//! two files use each other in a circle (the one allowed pair is
//! `builder.rs` ↔ `event_loop.rs`: the builder builds the loop, the loop is
//! built from the builder), or if a file is missing from the table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The one circle the layering allows.
const ALLOWED_PAIR: [&str; 2] = ["builder", "event_loop"];

fn source_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
}

/// `file → layer`, from the table in the crate docs (`//! | L2 | `core.rs` | …`).
fn layers_from_crate_docs() -> BTreeMap<String, u32> {
    let lib = std::fs::read_to_string(source_dir().join("lib.rs")).unwrap();
    let mut layers = BTreeMap::new();
    for line in lib.lines() {
        let Some(row) = line.strip_prefix("//! | L") else {
            continue;
        };
        let mut cells = row.split('|').map(str::trim);
        let layer: u32 = cells.next().unwrap().parse().unwrap();
        let file = cells.next().unwrap().trim_matches('`');
        // `blocking/pool.rs` is the module `blocking/pool`.
        let module = file.strip_suffix(".rs").expect("a file name");
        layers.insert(module.to_string(), layer);
    }
    layers
}

/// The modules of this crate that `module`'s code (not its comments, not
/// its unit-test module) refers to with a `crate::` path, or a `super::`
/// path inside a folder.
fn uses_of(module: &str, known: &BTreeMap<String, u32>) -> BTreeSet<String> {
    let text = std::fs::read_to_string(source_dir().join(format!("{module}.rs"))).unwrap();
    uses_in(&text, module, known)
}

/// The `crate::` uses in `text` (see [`uses_of`]): `crate::name::…` anywhere,
/// and every first segment inside `use crate::{a::…, b::{…}, …}` groups; a
/// folder's file is named by two segments (`crate::blocking::pool::…` is
/// `blocking/pool`), and inside a folder `super::pool::…` is its sibling.
fn uses_in(text: &str, module: &str, known: &BTreeMap<String, u32>) -> BTreeSet<String> {
    // The unit tests may use anything: cut at the test module, not at any
    // `#[cfg(test)]` (an item before production code may carry one too).
    let production = match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => text,
    };
    let code: String = production
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut used = BTreeSet::new();
    let mut note = |name: String| {
        if name != module && known.contains_key(&name) {
            used.insert(name);
        }
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => first_segments_of_group(group)
                .into_iter()
                .for_each(|name| note(name.to_string())),
            None => note(module_of_path(rest, known)),
        }
    }
    if let Some((folder, _)) = module.split_once('/') {
        for (i, _) in code.match_indices("super::") {
            let rest = &code[i + "super::".len()..];
            note(format!("{folder}/{}", first_segment(rest)));
        }
    }
    used
}

/// The module a `crate::` path (without that prefix) names: its first
/// segment, or its first two for a file in a folder (`blocking::pool::X` →
/// `blocking/pool`).
fn module_of_path(path: &str, known: &BTreeMap<String, u32>) -> String {
    let first = first_segment(path);
    let folder = format!("{first}/");
    if !known.keys().any(|module| module.starts_with(&folder)) {
        return first.to_string();
    }
    let rest = path.trim_start()[first.len()..].trim_start_matches("::");
    format!("{folder}{}", first_segment(rest))
}

fn first_segment(path: &str) -> &str {
    let path = path.trim_start();
    let end = path
        .find(|c: char| !c.is_alphanumeric() && c != '_')
        .unwrap_or(path.len());
    &path[..end]
}

/// `a::X, b::{Y, c::Z}, d` (the text after a `{`, up to its matching `}`)
/// → `[a, b, d]`: the items at the group's own level, split on its commas.
fn first_segments_of_group(group: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let (mut depth, mut item_start) = (0, 0);
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                names.push(first_segment(&group[item_start..at]));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                names.push(first_segment(&group[item_start..at]));
                item_start = at + 1;
            }
            _ => {}
        }
    }
    names.retain(|name| !name.is_empty());
    names
}

/// Every `.rs` file under `src/` but `lib.rs` and a folder's `mod.rs`
/// (which only declares the folder's files), as `name` or `folder/name`.
fn source_modules() -> Vec<String> {
    let mut modules = Vec::new();
    for entry in std::fs::read_dir(source_dir()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if entry.file_type().unwrap().is_dir() {
            for inner in std::fs::read_dir(entry.path()).unwrap() {
                let inner = inner.unwrap().file_name().into_string().unwrap();
                if let Some(module) = inner.strip_suffix(".rs").filter(|m| *m != "mod") {
                    modules.push(format!("{name}/{module}"));
                }
            }
        } else if let Some(module) = name.strip_suffix(".rs").filter(|m| *m != "lib") {
            modules.push(module.to_string());
        }
    }
    modules
}

#[test]
fn every_file_uses_only_its_own_layer_or_lower_and_there_is_no_circle() {
    let layers = layers_from_crate_docs();
    let mut files = source_modules();
    files.sort();
    for module in &files {
        assert!(
            layers.contains_key(module),
            "{module}.rs is missing from the file table in src/lib.rs"
        );
    }

    let graph: BTreeMap<String, BTreeSet<String>> = files
        .iter()
        .map(|module| (module.clone(), uses_of(module, &layers)))
        .collect();
    let allowed = |a: &str, b: &str| ALLOWED_PAIR.contains(&a) && ALLOWED_PAIR.contains(&b);

    for (module, used) in &graph {
        for dependency in used {
            assert!(
                layers[dependency] <= layers[module] || allowed(module, dependency),
                "{module}.rs (L{}) uses {dependency}.rs (L{}), a higher layer",
                layers[module],
                layers[dependency],
            );
        }
    }

    // No circle: every file can be put after everything it uses.
    let mut placed: BTreeSet<String> = BTreeSet::new();
    while placed.len() < graph.len() {
        let next = graph.iter().find(|(module, used)| {
            !placed.contains(*module)
                && used
                    .iter()
                    .all(|d| placed.contains(d) || allowed(module.as_str(), d))
        });
        match next {
            Some((module, _)) => placed.insert(module.clone()),
            None => {
                let left: Vec<_> = graph.keys().filter(|m| !placed.contains(*m)).collect();
                panic!("these files use each other in a circle: {left:?}");
            }
        };
    }
}

#[test]
fn the_check_sees_a_use_of_a_higher_layer() {
    // The test above can only fail if `uses_of` finds uses: check it on
    // real files, and on the shapes a `use` can take.
    let layers = layers_from_crate_docs();
    let used = uses_of("event_loop", &layers);
    assert!(
        used.contains("core") && used.contains("context"),
        "{used:?}"
    );
    assert!(
        uses_of("outcome", &layers).is_empty(),
        "the leaf uses nothing"
    );
    let shapes = "use crate::{task::{Stage, Task}, core::Core};\n\
                  #[cfg(test)]\nconst X: u8 = 0;\n\
                  fn f() { crate::handle::Handle::of(); }\n\
                  #[cfg(test)]\nmod tests { use crate::event_loop::EventLoop; }";
    let used = uses_in(shapes, "message", &layers);
    let expected: BTreeSet<String> = ["task", "core", "handle"].map(String::from).into();
    assert_eq!(
        used, expected,
        "nested groups; a cfg(test) item is not the test module"
    );
    let in_a_folder = "use super::token::CancelToken;\nuse crate::blocking::report::X;\n\
                       fn f() { crate::core::Core::new(); }";
    let used = uses_in(in_a_folder, "blocking/pool", &layers);
    let expected: BTreeSet<String> = ["blocking/token", "blocking/report", "core"]
        .map(String::from)
        .into();
    assert_eq!(used, expected, "a folder's files, by super:: and crate::");
    assert!(
        uses_of("blocking/handle", &layers).contains("blocking/pool"),
        "a real file in a folder"
    );
}
