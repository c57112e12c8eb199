//! The API's OpenAPI description, generated from the handlers: each handler's
//! `#[utoipa::path]` names its route, parameters, body type and answers, and the body and
//! answer types derive their schemas (`utoipa::ToSchema`) from the very structs serde reads
//! and writes, so a field added, renamed or made optional changes the description with it.
//!
//! What every operation shares is added here once, after generation: the `X-Request-Id`
//! parameter and answer header, the error answers (one JSON `Error` per status, each with its
//! own `code`) and the bearer scheme.

use serde_json::{Value, json};
use std::sync::LazyLock;
use utoipa::OpenApi;
use utoipa::openapi::{RefOr, ResponseBuilder};

/// The description as served at `GET /api/openapi.json`, built once.
///
/// ```
/// let description: serde_json::Value = serde_json::from_str(callcenter::api::openapi()).unwrap();
/// assert_eq!(description["openapi"], "3.1.0");
/// assert!(description["paths"]["/api/extensions/{extension}"]["put"].is_object());
/// ```
pub fn openapi() -> &'static str {
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        serde_json::to_string_pretty(&document()).expect("a JSON value serialises")
    });
    &DOCUMENT
}

/// The description's own parts; the routes are each resource file's `Routes`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "callcenter REST API",
        version = env!("CARGO_PKG_VERSION"),
        description = include_str!("openapi.md"),
        license(name = "MIT", identifier = "MIT"),
    ),
    // The reusable (error) answers are ERRORS, put in by `shared`.
)]
struct Description;

/// The generated description, with what every operation shares.
fn document() -> Value {
    let mut generated = Description::openapi();
    for routes in [
        super::agents::Routes::openapi(),
        super::balance::Routes::openapi(),
        super::calls::Routes::openapi(),
        super::cdrs::Routes::openapi(),
        super::contact_center::Routes::openapi(),
        super::dids::Routes::openapi(),
        super::extensions::Routes::openapi(),
        super::login::Routes::openapi(),
        super::menus::Routes::openapi(),
        super::pages::Routes::openapi(),
        super::playback::Routes::openapi(),
        super::prompts::Routes::openapi(),
        super::queues::Routes::openapi(),
        super::recordings::Routes::openapi(),
        super::ring_groups::Routes::openapi(),
        super::schedules::Routes::openapi(),
        super::tenants::Routes::openapi(),
        super::trunks::Routes::openapi(),
        super::users::Routes::openapi(),
    ] {
        generated.merge(routes);
    }
    let mut document = serde_json::to_value(generated).expect("the description is JSON");
    shared(&mut document);
    document
}

/// Adds the request id (parameter and answer header), the error schema, the reusable headers
/// and parameters and the bearer scheme.
fn shared(document: &mut Value) {
    for item in document["paths"]
        .as_object_mut()
        .expect("paths")
        .values_mut()
    {
        for operation in item.as_object_mut().expect("path item").values_mut() {
            finish_operation(operation);
        }
    }
    let components = document["components"].as_object_mut().expect("components");
    // The reusable answers are the error answers, in the order of their statuses (the
    // generator's are only their placeholders).
    let responses: serde_json::Map<String, Value> = ERRORS
        .iter()
        .map(|answer| (answer.name.to_owned(), error_response(answer)))
        .collect();
    components.insert("responses".into(), Value::Object(responses));
    components
        .entry("schemas")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("schemas")
        .insert("Error".into(), error_schema());
    components.insert(
        "securitySchemes".into(),
        json!({"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}),
    );
    components.insert(
        "headers".into(),
        json!({"RequestId": {
            "description": "The request's id: the caller's `X-Request-Id` when it is 1 to 64 letters, digits, `.`, `_` or `-`, else a new one (16 hex digits)",
            "required": true,
            "schema": {"type": "string", "pattern": REQUEST_ID_PATTERN},
        }}),
    );
    components.insert(
        "parameters".into(),
        json!({"RequestId": {
            "name": "X-Request-Id",
            "in": "header",
            "required": false,
            "description": "An id for this request, kept in the answer's `X-Request-Id` and the daemon's log when it is 1 to 64 letters, digits, `.`, `_` or `-` (anything else is replaced by a new one)",
            "schema": {"type": "string", "maxLength": 128},
        }}),
    );
}

/// What the daemon answers in `X-Request-Id` (see [`crate::http::request_id`]).
const REQUEST_ID_PATTERN: &str = "^[A-Za-z0-9._-]{1,64}$";

/// Every operation takes an `X-Request-Id` and every answer of its own carries one (the
/// shared error answers get theirs in the components); its summary is one line.
fn finish_operation(operation: &mut Value) {
    let Some(operation) = operation.as_object_mut() else {
        return;
    };
    // A summary is a doc comment: its line breaks are only the source's wrapping.
    if let Some(Value::String(summary)) = operation.get_mut("summary") {
        *summary = summary.replace('\n', " ");
    }
    let parameters = operation
        .entry("parameters")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .expect("parameters");
    let reference = json!({"$ref": "#/components/parameters/RequestId"});
    if !parameters.contains(&reference) {
        parameters.push(reference);
    }
    for response in operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|responses| responses.values_mut())
    {
        if response.get("$ref").is_none() {
            response["headers"]["X-Request-Id"] = json!({"$ref": "#/components/headers/RequestId"});
        }
    }
}

/// The one error body of every route ([`super::ApiError`]).
fn error_schema() -> Value {
    let codes: Vec<&str> = ERRORS.iter().map(|error| error.code).collect();
    json!({
        "type": "object",
        "required": ["error", "code", "request_id"],
        "properties": {
            "error": {"type": "string", "description": "What went wrong, for people"},
            "code": {
                "type": "string",
                "enum": codes,
                "description": "One stable word per kind of failure, for programs: invalid_request 400, unauthorized 401, forbidden 403, not_found 404, method_not_allowed 405, conflict 409, payload_too_large 413, rate_limited 429, unavailable 503, internal 500",
            },
            "request_id": {
                "type": "string",
                "pattern": REQUEST_ID_PATTERN,
                "description": "The answer's `X-Request-Id`",
            },
        },
        "additionalProperties": false,
    })
}

/// One error answer: its name in the components, its `code` and what it means.
struct ErrorAnswer {
    name: &'static str,
    code: &'static str,
    description: &'static str,
}

/// Every error answer, in the order of their statuses.
const ERRORS: [ErrorAnswer; 10] = [
    ErrorAnswer {
        name: "BadRequest",
        code: "invalid_request",
        description: "Invalid input: a path or query parameter that does not parse, an unknown query parameter, a body that does not parse, lacks a required field or has an unknown one, or a value a rule refuses (the text says which)",
    },
    ErrorAnswer {
        name: "Unauthorized",
        code: "unauthorized",
        description: "No token, an invalid, expired or revoked one, or wrong credentials",
    },
    ErrorAnswer {
        name: "Forbidden",
        code: "forbidden",
        description: "The role does not allow it (an operator's token on a tenant's route, a tenant's on the operator's, an agent's where admins only), or the tenant is disabled",
    },
    ErrorAnswer {
        name: "NotFound",
        code: "not_found",
        description: "Not found (for this tenant: another tenant's things do not exist here)",
    },
    ErrorAnswer {
        name: "MethodNotAllowed",
        code: "method_not_allowed",
        description: "The route does not take this method",
    },
    ErrorAnswer {
        name: "Conflict",
        code: "conflict",
        description: "The request contradicts what is stored: a name taken, something still used by another (\"X still uses it; change that first\"), a payment reference used for another amount",
    },
    ErrorAnswer {
        name: "TooLarge",
        code: "payload_too_large",
        description: "The body is over the limit (64 KiB; a prompt 4 MiB, a rate plan 16 MiB), not read past it",
    },
    ErrorAnswer {
        name: "TooManyRequests",
        code: "rate_limited",
        description: "Too many attempts or requests; retry after `Retry-After` seconds",
    },
    ErrorAnswer {
        name: "Internal",
        code: "internal",
        description: "An internal error; the text names only an error id that the daemon's log has",
    },
    ErrorAnswer {
        name: "Unavailable",
        code: "unavailable",
        description: "FreeSWITCH, the database or the recording store is unavailable (or not configured here); the text names only what and an error id",
    },
];

/// The answer of one [`ErrorAnswer`]: the `Error` schema with its `code` fixed (JSON: the
/// typed model has no `const`).
fn error_response(answer: &ErrorAnswer) -> Value {
    let mut response = json!({
        "description": answer.description,
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/RequestId"}},
        "content": {"application/json": {"schema": {"allOf": [
            {"$ref": "#/components/schemas/Error"},
            {"properties": {"code": {"const": answer.code}}},
        ]}}},
    });
    if answer.name == "TooManyRequests" {
        response["headers"]["Retry-After"] = json!({
            "description": "Seconds until a retry may succeed",
            "required": true,
            "schema": {"type": "integer", "minimum": 1},
        });
    }
    response
}

/// The description of an [`ErrorAnswer`] for the generator; [`error_response`] is what is
/// served.
fn error_placeholder(name: &str) -> utoipa::openapi::Response {
    let answer = ERRORS
        .iter()
        .find(|answer| answer.name == name)
        .expect("a listed error answer");
    ResponseBuilder::new()
        .description(answer.description)
        .build()
}

// For `body = inline(Binary)`.
/// A binary body (an MP3 answered, a WAV uploaded).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // Read by the description only.
pub(super) struct Binary(Vec<u8>);

/// The reusable error answers, for `responses((status = 404, response = NotFound))`.
macro_rules! error_answers {
    ($($name:ident),*) => {$(
        #[doc = concat!("The `", stringify!($name), "` error answer.")]
        pub(super) struct $name;

        impl<'s> utoipa::ToResponse<'s> for $name {
            fn response() -> (&'s str, RefOr<utoipa::openapi::Response>) {
                (stringify!($name), RefOr::T(error_placeholder(stringify!($name))))
            }
        }
    )*};
}

// 405 is the router's fallback, named by no route's description.
error_answers!(
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    TooLarge,
    TooManyRequests,
    Internal,
    Unavailable
);

/// What every route behind a token may answer: 401 (no token, or a bad one), 403 (the role or
/// a disabled tenant) and 503 (the database, checked for the token's user); for
/// `responses((status = 200, ...), Authenticated, ...)`.
pub(super) struct Authenticated;

impl utoipa::IntoResponses for Authenticated {
    fn responses() -> std::collections::BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        [
            ("401", "Unauthorized"),
            ("403", "Forbidden"),
            ("503", "Unavailable"),
        ]
        .into_iter()
        .map(|(status, name)| {
            let reference = utoipa::openapi::Ref::from_response_name(name);
            (status.to_owned(), RefOr::Ref(reference))
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_takes_and_answers_a_request_id() {
        let document: Value = serde_json::from_str(openapi()).unwrap();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                if method == "parameters" {
                    continue;
                }
                let parameters = operation["parameters"].as_array().unwrap();
                assert!(
                    parameters.contains(&json!({"$ref": "#/components/parameters/RequestId"})),
                    "{method} {path}"
                );
            }
        }
    }

    /// The router's `/api/` paths, as `mod.rs` writes them.
    fn routed_paths() -> std::collections::BTreeSet<String> {
        let source = include_str!("mod.rs");
        source
            .split(".route(")
            .skip(1)
            .filter_map(|call| call.trim_start().strip_prefix('"')?.split('"').next())
            .filter(|path| path.starts_with("/api/"))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_api_route_is_described_and_every_description_routed() {
        let document: Value = serde_json::from_str(openapi()).unwrap();
        let described: std::collections::BTreeSet<String> = document["paths"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let routed = routed_paths();
        assert!(routed.len() > 40, "{routed:?}");
        assert_eq!(
            routed.difference(&described).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "routed but not described"
        );
        assert_eq!(
            described.difference(&routed).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "described but not routed"
        );
    }

    #[test]
    fn error_answers_fix_their_code() {
        let document: Value = serde_json::from_str(openapi()).unwrap();
        let not_found = &document["components"]["responses"]["NotFound"];
        assert_eq!(
            not_found["content"]["application/json"]["schema"]["allOf"][1]["properties"]["code"]["const"],
            "not_found"
        );
        assert!(not_found["headers"]["X-Request-Id"].is_object());
        assert!(
            document["components"]["responses"]["TooManyRequests"]["headers"]["Retry-After"]
                .is_object()
        );
    }
}
