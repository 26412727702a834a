#![cfg(feature = "ssr")]
//! The OpenAPI document at `/api/openapi.json` describes every route of the JSON API and no
//! route that does not exist. The routes are read from the source the router is built from
//! (`api_routes` in `src/server/http/mod.rs`, parsed with `syn`): axum cannot list a router's routes,
//! and a hand-kept list here would drift exactly as a hand-written document would.

mod common;

use std::{collections::BTreeSet, fs, path::Path};

use axum::http::{Method, StatusCode};
use common::{bearer_request, TestApp};
use serde_json::Value;
use syn::visit::{self, Visit};
use tokenflight::api::auth::{ApiErrorBody, LoginRequest, TokenResponse, User};

/// Routes of `api_routes` that are no operation: the JSON 404 for unknown `/api/*` paths.
const NOT_OPERATIONS: [&str; 1] = ["/api/{*rest}"];

#[tokio::test]
async fn every_route_of_the_api_is_in_the_document() {
    let document = document(&TestApp::new().await).await;
    let documented = operations(&document);
    let routed = routed_operations();
    assert!(
        routed.len() >= 19,
        "the walk found too few routes: {routed:?}"
    );
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes the OpenAPI document does not describe (add #[utoipa::path] and list the \
         handler in server::http::openapi): {undocumented:?}"
    );
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::new().await;
    let documented = operations(&document(&app).await);
    assert_eq!(
        documented,
        routed_operations(),
        "document and router differ"
    );
    for (method, path) in documented {
        // Without credentials each answers its own refusal, never the router's 404 or 405.
        let concrete = path.replace("{id}", "some-id");
        let request = bearer_request(method.parse().unwrap(), &concrete, None, None);
        let status = app.send(request).await.status;
        assert!(
            ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&status),
            "{method} {path}: {status}"
        );
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_both_credentials() {
    let document = document(&TestApp::new().await).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["refresh_cookie"]["in"], "cookie");
    assert_eq!(schemes["refresh_cookie"]["name"], "tf_refresh");
    let faults = &document["components"]["schemas"]["DemoFaults"]["properties"];
    assert_eq!(faults["latency_ms"]["maximum"], 5000);
}

/// The auth wire types cannot derive their schemas (the auth client is lifted into apps without
/// utoipa), so `server::http::openapi::schemas` mirrors them: this keeps the mirror honest.
#[tokio::test]
async fn the_auth_schemas_have_the_wire_types_fields() {
    let document = document(&TestApp::new().await).await;
    let user = User {
        id: "u".into(),
        username: "alice".into(),
        roles: vec![],
    };
    let wire = [
        (
            "ApiErrorBody",
            serde_json::to_value(ApiErrorBody {
                error: "e".into(),
                message: "m".into(),
            }),
        ),
        (
            "LoginRequest",
            serde_json::to_value(LoginRequest {
                username: "a".into(),
                password: "p".into(),
            }),
        ),
        ("User", serde_json::to_value(user.clone())),
        (
            "TokenResponse",
            serde_json::to_value(TokenResponse {
                access_token: "t".into(),
                token_type: "Bearer".into(),
                expires_in: 60,
                user,
                idle_expires_in: Some(1800),
                idle_timeout: Some(1800),
            }),
        ),
    ];
    for (name, value) in wire {
        let fields: BTreeSet<_> = value
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let schema = &document["components"]["schemas"][name];
        let properties: BTreeSet<_> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let required: BTreeSet<_> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|field| field.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            properties, fields,
            "{name}: schema properties vs the wire type's fields"
        );
        assert_eq!(required, fields, "{name}: every field is always sent");
    }
}

#[tokio::test]
async fn without_demo_controls_the_document_leaves_them_out() {
    let app = TestApp::with_env(&[("DEMO_CONTROLS", "off")]).await;
    let paths = &document(&app).await["paths"];
    assert!(paths.get("/api/demo/faults").is_none());
    assert!(paths.get("/api/me").is_some());
}

#[tokio::test]
async fn the_viewer_is_served_from_this_origin_under_its_own_csp() {
    let app = TestApp::new().await;
    let page = app.get("/api/docs/", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("swagger-ui"), "{}", page.body);
    assert!(
        !page.body.contains("https://"),
        "the viewer loads nothing from elsewhere"
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let script = app.get("/api/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(script.status, StatusCode::OK);
    let config = app.get("/api/docs/swagger-initializer.js", None).await;
    assert!(config.body.contains("/api/openapi.json"), "{}", config.body);
}

async fn document(app: &TestApp) -> Value {
    let response = app.get("/api/openapi.json", None).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    response.json()
}

type Operation = (String, String);

fn operations(document: &Value) -> BTreeSet<Operation> {
    let mut found = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if Method::from_bytes(method.to_uppercase().as_bytes()).is_ok()
                && method != "parameters"
            {
                found.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    found
}

/// (METHOD, path) of every `.route(…)` in `api_routes`, with the path constants resolved from
/// `src/api/`.
fn routed_operations() -> BTreeSet<Operation> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = fs::read_to_string(root.join("src/server/http/mod.rs")).unwrap();
    let file = syn::parse_file(&source).unwrap();
    let api_routes = file
        .items
        .iter()
        .find_map(|item| match item {
            syn::Item::Fn(function) if function.sig.ident == "api_routes" => Some(function),
            _ => None,
        })
        .expect("fn api_routes in src/server/http/mod.rs");
    let mut routes = RouteCalls::default();
    routes.visit_item_fn(api_routes);
    let constants = path_constants(&root.join("src/api"));
    let mut found = BTreeSet::new();
    for (path, methods) in routes.0 {
        let path = match path {
            PathArg::Literal(path) => path,
            PathArg::Constant(name) => constants
                .iter()
                .find(|(constant, _)| *constant == name)
                .unwrap_or_else(|| panic!("no path constant {name} in src/api"))
                .1
                .clone(),
        };
        if NOT_OPERATIONS.contains(&path.as_str()) {
            continue;
        }
        assert!(!methods.is_empty(), "no method found for {path}");
        for method in methods {
            found.insert((method, path.clone()));
        }
    }
    found
}

enum PathArg {
    Literal(String),
    Constant(String),
}

/// `.route(path, get(a).post(b))` calls: the path and the methods named in the second argument.
#[derive(Default)]
struct RouteCalls(Vec<(PathArg, Vec<String>)>);

impl<'ast> Visit<'ast> for RouteCalls {
    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        if call.method == "route" && call.args.len() == 2 {
            let path = match &call.args[0] {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(literal),
                    ..
                }) => PathArg::Literal(literal.value()),
                syn::Expr::Path(path) => {
                    let last = path.path.segments.last().unwrap();
                    PathArg::Constant(last.ident.to_string())
                }
                _ => panic!("a route path that is neither a string literal nor a constant"),
            };
            let mut methods = MethodNames::default();
            methods.visit_expr(&call.args[1]);
            self.0.push((path, methods.0));
        }
        visit::visit_expr_method_call(self, call);
    }
}

/// `get(…)`, `.post(…)` and the like, upper-cased.
#[derive(Default)]
struct MethodNames(Vec<String>);

const METHODS: [&str; 6] = ["get", "post", "put", "patch", "delete", "any"];

impl<'ast> Visit<'ast> for MethodNames {
    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let syn::Expr::Path(path) = &*call.func {
            let name = path.path.segments.last().unwrap().ident.to_string();
            if METHODS.contains(&name.as_str()) {
                self.0.push(name.to_uppercase());
            }
        }
        visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let name = call.method.to_string();
        if METHODS.contains(&name.as_str()) {
            self.0.push(name.to_uppercase());
        }
        visit::visit_expr_method_call(self, call);
    }
}

/// Every `const NAME: &str = "/…"` under `src/api/`, by name; names must be unique there.
fn path_constants(dir: &Path) -> Vec<(String, String)> {
    let mut constants: Vec<(String, String)> = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let source = fs::read_to_string(entry.unwrap().path()).unwrap();
        let mut visitor = Constants::default();
        visitor.visit_file(&syn::parse_file(&source).unwrap());
        for (name, value) in visitor.0 {
            assert!(
                !constants.iter().any(|(known, _)| *known == name),
                "two path constants named {name} in src/api: the walk cannot tell them apart"
            );
            constants.push((name, value));
        }
    }
    constants
}

#[derive(Default)]
struct Constants(Vec<(String, String)>);

impl<'ast> Visit<'ast> for Constants {
    fn visit_item_const(&mut self, item: &'ast syn::ItemConst) {
        if let syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(value),
            ..
        }) = &*item.expr
        {
            if value.value().starts_with('/') {
                self.0.push((item.ident.to_string(), value.value()));
            }
        }
    }
}

#[test]
fn the_walk_sees_chained_methods_and_constants() {
    let source = r#"fn api_routes() {
        Router::new()
            .route(paths::A, get(x).delete(y))
            .route("/lit", post(z))
    }"#;
    let file = syn::parse_file(source).unwrap();
    let mut routes = RouteCalls::default();
    routes.visit_file(&file);
    let seen: BTreeSet<_> = routes
        .0
        .into_iter()
        .flat_map(|(path, methods)| {
            let path = match path {
                PathArg::Literal(path) | PathArg::Constant(path) => path,
            };
            methods
                .into_iter()
                .map(move |method| (method, path.clone()))
        })
        .collect();
    let expected: BTreeSet<_> = [("GET", "A"), ("DELETE", "A"), ("POST", "/lit")]
        .map(|(method, path)| (method.to_owned(), path.to_owned()))
        .into();
    assert_eq!(seen, expected);
}
