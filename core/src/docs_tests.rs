//! Keeps the references to the design document true: every `docs/design.md, "Heading"` cited in the workspace's
//! sources, template and README names a heading the document has, so a renamed section cannot leave a dangling
//! pointer behind.

use std::path::{Path, PathBuf};

/// The workspace root (core's parent).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("core sits in the workspace")
        .to_path_buf()
}

/// Every file below `dir` with one of `endings`, `target` and hidden directories left out.
fn files(dir: &Path, endings: &[&str], out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable directory") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') && name != "node_modules" {
                files(&path, endings, out);
            }
        } else if endings.iter().any(|e| name.ends_with(e)) {
            out.push(path);
        }
    }
}

#[test]
fn every_cited_section_of_the_design_exists() {
    let root = root();
    let design = std::fs::read_to_string(root.join("docs/design.md")).expect("docs/design.md");
    let headings: Vec<String> = design
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| l.trim_start_matches('#').trim().to_string())
        .collect();
    let mut sources = Vec::new();
    files(
        &root,
        &[".rs", ".yaml", "README.md", "BENCHMARKS.md"],
        &mut sources,
    );
    let marker = "docs/design.md, \"";
    let mut cited = 0;
    // This file names the marker itself.
    sources.retain(|p| !p.ends_with("core/src/docs_tests.rs"));
    for path in sources {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for (at, _) in text.match_indices(marker) {
            let rest = &text[at + marker.len()..];
            let heading = rest.split('"').next().unwrap_or_default();
            cited += 1;
            assert!(
                headings.iter().any(|h| h == heading),
                "{} cites docs/design.md section {heading:?}, which the document does not have",
                path.display()
            );
        }
    }
    assert!(
        cited >= 10,
        "only {cited} citations found: is the marker still used?"
    );
}
