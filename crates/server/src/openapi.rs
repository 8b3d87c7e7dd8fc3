//! The OpenAPI 3.1 document of the HTTP API, served at `/openapi.json`. Written by hand next to
//! the routes it describes (`api.rs`); a test checks that every route is in it.

pub const DOCUMENT: &str = include_str!("openapi.json");
