//! Prints the JSON Schema of the policy document (`policy`, the default) or
//! of a route document (`route`), generated from the Rust types the policy
//! is read into. `core/check-schema.sh` keeps docs/*.schema.json in step.
//!
//! cargo run -p jwtgate --features schema --example policy_schema -- policy

use jwtgate::{PolicyDoc, RouteDoc};

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "policy".into());
    let (mut schema, id) = match which.as_str() {
        "policy" => (schemars::schema_for!(PolicyDoc), "policy.schema.json"),
        "route" => (schemars::schema_for!(RouteDoc), "route.schema.json"),
        other => {
            eprintln!("policy_schema: unknown document {other:?}: give policy or route");
            std::process::exit(2);
        }
    };
    schema.insert("$id".into(), format!("https://github.com/jwtgate/jwtgate/blob/main/docs/{id}").into());
    println!("{}", serde_json::to_string_pretty(&schema).expect("a schema serializes"));
}
