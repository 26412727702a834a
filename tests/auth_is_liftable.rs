//! `src/auth/` is the part people copy into their own apps (README, "Lifting the auth client"), so
//! it may name the auth wire contract and itself — never the server, the pages, the components,
//! the demo's resources or any other app code. This test parses every file under `src/auth/`
//! (with `syn`, so grouped and multi-line imports count too) and lists every path that would not
//! compile after the copy. The identity provider (`src/server/`) is held to the same kind of
//! wall, the other way round: it never names the demo app.

use std::{fs, path::Path};

use syn::visit::{self, Visit};

/// The only paths of this crate that `src/auth/` may name.
const ALLOWED: [&str; 2] = ["crate::auth", "crate::api::auth"];

#[test]
fn the_auth_client_names_only_the_auth_contract_and_itself() {
    let mut offending = Vec::new();
    for file in rust_files(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/auth"))) {
        let source = fs::read_to_string(&file).expect("readable source");
        for path in crate_paths(&source, &module_of(&file)) {
            if !ALLOWED.iter().any(|allowed| within(&path, allowed)) {
                offending.push(format!("{}: {path}", file.display()));
            }
        }
    }
    assert!(
        offending.is_empty(),
        "src/auth/ must stand alone; these paths reach into the app:\n{}",
        offending.join("\n")
    );
}

/// The demo app's modules: the identity provider (`src/server/`) must not depend on them.
const APP_MODULES: [&str; 5] = [
    "crate::app",
    "crate::pages",
    "crate::components",
    "crate::form_login",
    "crate::server_fns",
];

/// Review finding of #23: `src/server/` imported an app type (`form_login::LoginFailure`), so the
/// identity provider could not be built or reasoned about without the demo. Only `site.rs`, the
/// one file that mounts the demo's pages (feature `demo`), may name the app.
#[test]
fn the_identity_provider_names_no_app_code_outside_the_demo_site() {
    let mut offending = Vec::new();
    for file in rust_files(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/server"
    ))) {
        if file.ends_with("server/site.rs") {
            continue;
        }
        let source = fs::read_to_string(&file).expect("readable source");
        for path in crate_paths(&source, &module_of(&file)) {
            if APP_MODULES.iter().any(|app| within(&path, app)) {
                offending.push(format!("{}: {path}", file.display()));
            }
        }
    }
    assert!(
        offending.is_empty(),
        "src/server/ must not depend on the demo app:\n{}",
        offending.join("\n")
    );
}

/// The README's lifting example is the glue of a real app (`examples/router_app`, built and run
/// in Chromium by the test command), word for word: an example that only looks right cannot
/// drift from one that runs.
#[test]
fn the_readme_glue_is_the_router_app_glue_verbatim() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(root.join("README.md")).expect("README.md");
    let app = fs::read_to_string(root.join("examples/router_app/src/app.rs")).expect("app.rs");
    let glue = between(&app, "// README glue: begin\n", "// README glue: end\n");
    let lifting = readme
        .split_once("### Lifting the auth client into your app")
        .expect("the README's lifting section")
        .1;
    let example = between(lifting, "```rust\n", "```\n");
    assert_eq!(
        example, glue,
        "README's lifting example != examples/router_app glue"
    );
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).map(|at| at + start.len()).expect(start);
    let to = text[from..].find(end).expect(end);
    &text[from..from + to]
}

#[test]
fn the_check_sees_grouped_nested_and_inline_paths() {
    let source = r#"
        use crate::{api::auth::User, auth::context::AuthContext};
        use crate::{
            api::{auth::codes, resources::Item},
            server::AppState,
        };
        fn f() -> crate::pages::Page { crate::components::x() }
        use super::super::super::app::App;
        use super::tabs::Announce;
    "#;
    let paths = crate_paths(source, "crate::auth::coordinator::state");
    let mut outside: Vec<&str> = paths
        .iter()
        .map(String::as_str)
        .filter(|path| !ALLOWED.iter().any(|allowed| within(path, allowed)))
        .collect();
    outside.sort();
    assert_eq!(
        outside,
        [
            "crate::api::resources::Item",
            "crate::app::App",
            "crate::components::x",
            "crate::pages::Page",
            "crate::server::AppState"
        ]
    );
    assert!(paths.contains(&"crate::api::auth::codes".to_owned()));
    assert!(paths.contains(&"crate::auth::coordinator::tabs::Announce".to_owned()));
}

/// Every path into this crate in `source`, the file of module `module`, made absolute
/// (`super::` and `self::` resolved): each leaf of every `use` tree, and every path in code.
fn crate_paths(source: &str, module: &str) -> Vec<String> {
    let file = syn::parse_file(source).expect("src/auth parses");
    let mut finder = CratePaths {
        module: module.split("::").map(str::to_owned).collect(),
        found: Vec::new(),
    };
    finder.visit_file(&file);
    finder.found
}

struct CratePaths {
    module: Vec<String>,
    found: Vec<String>,
}

impl CratePaths {
    /// `crate::…` for a path that starts at the crate root, `self` or `super`; `None` for other
    /// crates. (Inline modules are not tracked, so `super` may resolve one level too high: that
    /// can only make the check stricter.)
    fn absolute(&self, path: &str) -> Option<String> {
        let mut segments: Vec<&str> = path.split("::").collect();
        let mut base: Vec<&str> = self.module.iter().map(String::as_str).collect();
        match segments.first() {
            Some(&"crate") => return Some(path.to_owned()),
            Some(&"self") => {
                segments.remove(0);
            }
            Some(&"super") => {
                while segments.first() == Some(&"super") {
                    segments.remove(0);
                    base.pop();
                }
            }
            _ => return None,
        }
        base.extend(segments);
        Some(base.join("::"))
    }
}

impl<'ast> Visit<'ast> for CratePaths {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut paths = Vec::new();
        leaves(&item.tree, String::new(), &mut paths);
        let absolute: Vec<String> = paths.iter().filter_map(|p| self.absolute(p)).collect();
        self.found.extend(absolute);
    }

    /// `pub(crate)` and `pub(super)` name no item.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(absolute) = self.absolute(&segments.join("::")) {
            self.found.push(absolute);
        }
        visit::visit_path(self, path);
    }
}

/// `crate::auth::a::b` for `src/auth/a/b.rs`, `crate::auth::a` for `src/auth/a/mod.rs`.
fn module_of(file: &Path) -> String {
    let src = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
    let relative = file.strip_prefix(src).expect("a file under src/");
    let mut segments: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if segments.last().is_some_and(|last| last == "mod") {
        segments.pop();
    }
    segments.insert(0, "crate".to_owned());
    segments.join("::")
}

fn leaves(tree: &syn::UseTree, prefix: String, out: &mut Vec<String>) {
    let join = |name: String| {
        if prefix.is_empty() {
            name
        } else {
            format!("{prefix}::{name}")
        }
    };
    match tree {
        syn::UseTree::Path(path) => leaves(&path.tree, join(path.ident.to_string()), out),
        syn::UseTree::Name(name) => out.push(join(name.ident.to_string())),
        syn::UseTree::Rename(rename) => out.push(join(rename.ident.to_string())),
        syn::UseTree::Glob(_) => out.push(join("*".to_owned())),
        syn::UseTree::Group(group) => {
            for item in &group.items {
                leaves(item, prefix.clone(), out);
            }
        }
    }
}

fn within(path: &str, allowed: &str) -> bool {
    path == allowed || path.starts_with(&format!("{allowed}::"))
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).expect("the source directory exists") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}
