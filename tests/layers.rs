//! The walls between the crate's rooms, checked on the source (with `syn`, so grouped,
//! multi-line and inline paths count too):
//! - the auth client (`src/auth/`, feature `client`) names the wire contract and itself only —
//!   never the server, the pages or the demo;
//! - the identity provider (`src/server/`) never names the auth client or the demo app;
//! - its core (`src/server/core/`) names nothing of the HTTP layer, nor of axum, tower or
//!   Leptos: the decisions are testable and readable with no router;
//! - the README's "use the client" glue is the glue of a real app (`examples/router_app`).

use std::{fs, path::Path};

use syn::visit::{self, Visit};

/// The only paths of this crate that `src/auth/` may name.
const ALLOWED: [&str; 3] = ["crate::auth", "crate::api::auth", "crate::api::redirect"];

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
        "src/auth/ must stand alone (feature `client`); these paths reach into the app:\n{}",
        offending.join("\n")
    );
}

/// The demo app's modules and the browser's auth client: the identity provider (`src/server/`)
/// depends on neither.
const APP_MODULES: [&str; 6] = [
    "crate::auth",
    "crate::app",
    "crate::pages",
    "crate::components",
    "crate::form_login",
    "crate::server_fns",
];

/// Review finding of #23: `src/server/` imported an app type (`form_login::LoginFailure`), so the
/// identity provider could not be built or reasoned about without the demo. Only `site.rs`, the
/// one file that mounts the demo's pages (feature `demo`), may name the app. Issue #31: the
/// guards built `/login?next=` with the browser client's helper; it is wire contract now
/// (`api::redirect`).
#[test]
fn the_identity_provider_names_no_client_or_app_code_outside_the_demo_site() {
    let mut offending = Vec::new();
    for file in rust_files(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/server"
    ))) {
        if file.ends_with("server/http/site.rs") {
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
        "src/server/ must not depend on the auth client or the demo app:\n{}",
        offending.join("\n")
    );
}

/// Crates of the web stack: the core decides without them.
const WEB_CRATES: [&str; 10] = [
    "axum",
    "tower",
    "tower_http",
    "tower_sessions",
    "hyper",
    "hyper_util",
    "leptos",
    "leptos_axum",
    "leptos_router",
    "utoipa",
];

/// Issue #31: `families` took its fault seam from the HTTP layer's `faults.rs` (which reached
/// `extract` and `state`), and the client registry its error from `oidc/error.rs`: one import
/// circle of 26 files. The core now names nothing above it.
#[test]
fn the_core_names_nothing_of_the_http_layer_or_the_web_stack() {
    let mut offending = Vec::new();
    for file in rust_files(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/server/core"
    ))) {
        let source = fs::read_to_string(&file).expect("readable source");
        let module = module_of(&file);
        for path in crate_paths(&source, &module) {
            if !within(&path, "crate::server::core") && !within(&path, "crate::api") {
                offending.push(format!("{}: {path}", file.display()));
            }
        }
        for path in other_crates_paths(&source, &module) {
            if WEB_CRATES.iter().any(|web| within(&path, web)) {
                offending.push(format!("{}: {path}", file.display()));
            }
        }
    }
    assert!(
        offending.is_empty(),
        "src/server/core/ must stand below HTTP:\n{}",
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
        .split_once("### Use the auth client in your app")
        .expect("the README's section on using the client")
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
            server::IdpState,
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
            "crate::server::IdpState"
        ]
    );
    assert!(paths.contains(&"crate::api::auth::codes".to_owned()));
    assert!(paths.contains(&"crate::auth::coordinator::tabs::Announce".to_owned()));
}

/// Every path into this crate in `source`, the file of module `module`, made absolute
/// (`super::` and `self::` resolved): each leaf of every `use` tree, and every path in code.
fn crate_paths(source: &str, module: &str) -> Vec<String> {
    find_paths(source, module).found
}

/// Every path of two or more segments into another crate (`axum::Router`, `std::fmt`), as
/// written. Single names (`Router`, `x`) are locals or imports, which are counted where imported.
fn other_crates_paths(source: &str, module: &str) -> Vec<String> {
    find_paths(source, module).other_crates
}

fn find_paths(source: &str, module: &str) -> CratePaths {
    let file = syn::parse_file(source).expect("the source parses");
    let mut finder = CratePaths {
        module: module.split("::").map(str::to_owned).collect(),
        found: Vec::new(),
        other_crates: Vec::new(),
    };
    finder.visit_file(&file);
    finder
}

struct CratePaths {
    module: Vec<String>,
    found: Vec<String>,
    other_crates: Vec<String>,
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
        for path in paths {
            match self.absolute(&path) {
                Some(absolute) => self.found.push(absolute),
                None => self.other_crates.push(path),
            }
        }
    }

    /// `pub(crate)` and `pub(super)` name no item.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        match self.absolute(&segments.join("::")) {
            Some(absolute) => self.found.push(absolute),
            None if segments.len() > 1 => self.other_crates.push(segments.join("::")),
            None => {}
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
