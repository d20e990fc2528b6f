//! A client of a schema registry through Confluent's Schema Registry REST API (v7), which Confluent's
//! registry and Apicurio Registry (`/apis/ccompat/v7`) serve: register a schema (Avro or JSON Schema)
//! under a subject, fetch a schema and its type by id (cached: an id's schema never changes). Blocking
//! (ureq), plain HTTP.
//!
//! Requests that get no answer (connection refused, timeout) or a 5xx are tried again a few times; what
//! still fails is an error naming the URL, with the status and the body of the answer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

/// A good time limit of one request (the jobs' default).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The content type of the API's requests and answers.
const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";
/// Confluent's error code for "schema not found" (with HTTP 404).
const SCHEMA_NOT_FOUND: i64 = 40403;
/// Tries of a request that got no answer or a 5xx, and the pause before the second (doubled each time).
const ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// At most this much of an error answer's body goes into the error.
const BODY_LIMIT: usize = 500;

/// Why a registry request failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("failed to use the schema registry URL {url}: {detail}")]
    BadUrl { url: String, detail: String },
    /// No answer (connection refused, timeout, name not resolved).
    #[error("failed to {action} at {url}: no answer: {cause}")]
    Unreachable {
        action: String,
        url: String,
        cause: ureq::Error,
    },
    /// The registry does not know the schema id (HTTP 404 with error code 40403).
    #[error("failed to {action} at {url}: HTTP 404: {body}")]
    SchemaNotFound {
        action: String,
        url: String,
        body: String,
    },
    #[error("failed to {action} at {url}: HTTP {status}: {body}")]
    Status {
        action: String,
        url: String,
        status: u16,
        body: String,
    },
    #[error("failed to {action} at {url}: unexpected answer: {detail}")]
    BadAnswer {
        action: String,
        url: String,
        detail: String,
    },
}

/// The subject of a topic's values (Confluent's TopicNameStrategy).
pub fn value_subject(topic: &str) -> String {
    format!("{topic}-value")
}

/// Checks a registry URL (`http://host[:port][/path]`): for clap's value parser.
pub fn parse_url(url: &str) -> Result<String, String> {
    validate_url(url).map_err(|e| e.to_string())
}

fn validate_url(url: &str) -> Result<String, RegistryError> {
    let bad = |detail: &str| RegistryError::BadUrl {
        url: url.to_string(),
        detail: detail.to_string(),
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| match url.split_once("://") {
            Some(("https", _)) => bad("https is not supported (this build speaks plain HTTP)"),
            _ => {
                bad("expected http://host[:port][/path], e.g. http://registry:8080/apis/ccompat/v7")
            }
        })?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

#[derive(Deserialize)]
struct IdAnswer {
    id: u32,
}

#[derive(Deserialize)]
struct SchemaAnswer {
    schema: String,
    /// Absent for Avro (the API's default type).
    #[serde(rename = "schemaType")]
    schema_type: Option<String>,
}

/// A schema's type, as the API names it (`schemaType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaType {
    Avro,
    /// JSON Schema.
    Json,
    /// Another type (e.g. `PROTOBUF`), as the registry named it.
    Other(String),
}

impl SchemaType {
    fn from_api(name: Option<&str>) -> SchemaType {
        match name {
            None | Some("AVRO") => SchemaType::Avro,
            Some("JSON") => SchemaType::Json,
            Some(other) => SchemaType::Other(other.to_string()),
        }
    }

    /// The API's name of the type.
    pub fn name(&self) -> &str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Json => "JSON",
            SchemaType::Other(name) => name,
        }
    }
}

/// A schema as registered: its type and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredSchema {
    pub schema_type: SchemaType,
    pub schema: Arc<str>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error_code: i64,
}

/// A schema registry client, with the schemas fetched so far.
pub struct SchemaRegistry {
    base: String,
    agent: ureq::Agent,
    schemas: HashMap<u32, RegisteredSchema>,
}

impl std::fmt::Debug for SchemaRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaRegistry")
            .field("base", &self.base)
            .field("cached", &self.schemas.len())
            .finish()
    }
}

impl SchemaRegistry {
    /// A client of the registry at `url` (the API's base, e.g. `http://registry:8080/apis/ccompat/v7`);
    /// `timeout` bounds each request.
    pub fn new(url: &str, timeout: Duration) -> Result<SchemaRegistry, RegistryError> {
        let base = validate_url(url)?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .user_agent(concat!("bigdata-jobs/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(SchemaRegistry {
            base,
            agent: ureq::Agent::new_with_config(config),
            schemas: HashMap::new(),
        })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    /// Registers `schema` (its JSON text) of type `schema_type` under `subject`; returns its id (the
    /// same id when it is registered already).
    pub fn register(
        &self,
        subject: &str,
        schema_type: &SchemaType,
        schema: &str,
    ) -> Result<u32, RegistryError> {
        let url = format!("{}/subjects/{subject}/versions", self.base);
        let action = format!("register a schema under the subject {subject}");
        let mut body = serde_json::json!({ "schema": schema });
        if *schema_type != SchemaType::Avro {
            body["schemaType"] = schema_type.name().into();
        }
        let body = body.to_string();
        let text = self.request(&action, &url, Some(&body))?;
        let answer: IdAnswer = parse_answer(&action, &url, &text)?;
        Ok(answer.id)
    }

    /// The schema with this id, from the cache or the registry. An id the registry does not know is
    /// [`RegistryError::SchemaNotFound`].
    pub fn schema(&mut self, id: u32) -> Result<RegisteredSchema, RegistryError> {
        if let Some(schema) = self.schemas.get(&id) {
            return Ok(schema.clone());
        }
        let url = format!("{}/schemas/ids/{id}", self.base);
        let action = format!("fetch the schema {id}");
        let text = self.request(&action, &url, None)?;
        let answer: SchemaAnswer = parse_answer(&action, &url, &text)?;
        let schema = RegisteredSchema {
            schema_type: SchemaType::from_api(answer.schema_type.as_deref()),
            schema: answer.schema.into(),
        };
        self.schemas.insert(id, schema.clone());
        Ok(schema)
    }

    /// The subjects the registry holds (`GET /subjects`).
    pub fn subjects(&self) -> Result<Vec<String>, RegistryError> {
        let url = format!("{}/subjects", self.base);
        let action = "list the subjects";
        let text = self.request(action, &url, None)?;
        parse_answer(action, &url, &text)
    }

    /// GET (no body) or POST `body`; the answer's body when the status is 2xx.
    fn request(
        &self,
        action: &str,
        url: &str,
        body: Option<&str>,
    ) -> Result<String, RegistryError> {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            match self.try_request(action, url, body) {
                Err(e) if attempt < ATTEMPTS && retriable(&e) => {
                    tracing::warn!(error = %e, attempt, "schema registry: trying again");
                    std::thread::sleep(backoff);
                    backoff *= 2;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    fn try_request(
        &self,
        action: &str,
        url: &str,
        body: Option<&str>,
    ) -> Result<String, RegistryError> {
        let response = match body {
            Some(body) => self
                .agent
                .post(url)
                .header("Content-Type", CONTENT_TYPE)
                .header("Accept", CONTENT_TYPE)
                .send(body),
            None => self.agent.get(url).header("Accept", CONTENT_TYPE).call(),
        };
        let unreachable = |cause| RegistryError::Unreachable {
            action: action.to_string(),
            url: url.to_string(),
            cause,
        };
        let mut response = response.map_err(unreachable)?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().map_err(unreachable)?;
        classify(action, url, status, text)
    }
}

/// The body of a 2xx answer, or the error the status and body mean.
fn classify(action: &str, url: &str, status: u16, body: String) -> Result<String, RegistryError> {
    if (200..300).contains(&status) {
        return Ok(body);
    }
    let not_found = status == 404
        && serde_json::from_str::<ErrorAnswer>(&body)
            .is_ok_and(|e| e.error_code == SCHEMA_NOT_FOUND);
    let body = shorten(body);
    if not_found {
        return Err(RegistryError::SchemaNotFound {
            action: action.to_string(),
            url: url.to_string(),
            body,
        });
    }
    Err(RegistryError::Status {
        action: action.to_string(),
        url: url.to_string(),
        status,
        body,
    })
}

fn shorten(mut body: String) -> String {
    if body.len() > BODY_LIMIT {
        let mut end = BODY_LIMIT;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
        body.push('…');
    }
    body.trim().to_string()
}

/// No answer, or a server error: worth another try.
fn retriable(e: &RegistryError) -> bool {
    match e {
        RegistryError::Unreachable { .. } => true,
        RegistryError::Status { status, .. } => *status >= 500,
        _ => false,
    }
}

fn parse_answer<T: for<'de> Deserialize<'de>>(
    action: &str,
    url: &str,
    text: &str,
) -> Result<T, RegistryError> {
    serde_json::from_str(text).map_err(|e| RegistryError::BadAnswer {
        action: action.to_string(),
        url: url.to_string(),
        detail: format!("{e}: {}", shorten(text.to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert_eq!(
            parse_url("http://registry:8080/apis/ccompat/v7/").unwrap(),
            "http://registry:8080/apis/ccompat/v7"
        );
        assert_eq!(
            parse_url("http://127.0.0.1:1").unwrap(),
            "http://127.0.0.1:1"
        );
        let e = parse_url("https://registry/apis/ccompat/v7").unwrap_err();
        assert!(
            e.starts_with("failed to use the schema registry URL https://"),
            "{e}"
        );
        assert!(e.contains("https is not supported"), "{e}");
        assert!(
            parse_url("registry:8080")
                .unwrap_err()
                .contains("expected http://")
        );
        assert!(parse_url("http:///x").unwrap_err().contains("no host"));
    }

    #[test]
    fn answers_are_classified() {
        let url = "http://r/schemas/ids/9";
        assert_eq!(classify("a", url, 200, "{}".into()).unwrap(), "{}");
        let e = classify(
            "fetch the schema 9",
            url,
            404,
            r#"{"message":"Schema 9 not found.","error_code":40403}"#.into(),
        )
        .unwrap_err();
        assert!(matches!(e, RegistryError::SchemaNotFound { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            r#"failed to fetch the schema 9 at http://r/schemas/ids/9: HTTP 404: {"message":"Schema 9 not found.","error_code":40403}"#
        );
        // A 404 that is not the registry's "schema not found" (a wrong base path) is not an unknown schema.
        let e = classify(
            "fetch the schema 9",
            url,
            404,
            r#"{"title":"no such path"}"#.into(),
        )
        .unwrap_err();
        assert!(
            matches!(e, RegistryError::Status { status: 404, .. }),
            "{e:?}"
        );
        assert!(!retriable(&e));
        let e = classify("a", url, 503, "x".repeat(2000)).unwrap_err();
        assert!(retriable(&e));
        assert!(e.to_string().ends_with("…"), "{e}");
        assert!(e.to_string().len() < 600);
    }

    #[test]
    fn schema_types_are_read_as_the_api_names_them() {
        assert_eq!(SchemaType::from_api(None), SchemaType::Avro);
        assert_eq!(SchemaType::from_api(Some("AVRO")), SchemaType::Avro);
        assert_eq!(SchemaType::from_api(Some("JSON")), SchemaType::Json);
        let protobuf = SchemaType::from_api(Some("PROTOBUF"));
        assert_eq!(protobuf, SchemaType::Other("PROTOBUF".into()));
        assert_eq!(protobuf.name(), "PROTOBUF");
        assert_eq!(SchemaType::Json.name(), "JSON");
    }

    #[test]
    fn a_closed_port_is_unreachable_and_named() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/apis/ccompat/v7");
        let mut registry = SchemaRegistry::new(&url, Duration::from_secs(2)).unwrap();
        let e = registry.schema(1).unwrap_err();
        assert!(matches!(e, RegistryError::Unreachable { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!(
                "failed to fetch the schema 1 at {url}/schemas/ids/1: no answer: "
            )),
            "{text}"
        );
        let e = registry
            .register("t-value", &SchemaType::Avro, "\"string\"")
            .unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "failed to register a schema under the subject t-value at {url}/subjects/t-value/versions: no answer"
            )),
            "{e}"
        );
    }
}
