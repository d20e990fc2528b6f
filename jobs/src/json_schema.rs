//! The demo events in JSON Schema: their schemas (draft 7), as `generate --format json-schema` registers
//! them, and the check `stream` makes of a writer schema from the registry before it reads values written
//! with it.
//!
//! A JSON Schema value is the event's JSON text framed in the Confluent wire format (`wire.rs`), as
//! Confluent's `KafkaJsonSchemaSerializer` writes it. The payload is the same JSON as a plain JSON event,
//! so `stream` parses it with the same checks (required fields, types), and a writer schema is only
//! checked to describe the expected event: an object that declares every property the event needs, with
//! a type that fits (an integer fits a number; a property declared without a type is left to the
//! parser). Extra properties are accepted: a writer may add fields.

use std::sync::LazyLock;

use serde_json::Value;

use crate::events::EventKind;

/// A bike station's status (`StationStatus` in events.rs).
pub const STATION_STATUS_SCHEMA: &str = r#"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "StationStatus",
  "description": "A bike station's status, in the JCDecaux API's field names.",
  "type": "object",
  "properties": {
    "number": {"type": "integer", "minimum": 0, "description": "The station number (the record key)."},
    "contract_name": {"type": "string"},
    "name": {"type": "string"},
    "bike_stands": {"type": "integer", "minimum": 0},
    "available_bike_stands": {"type": "integer", "minimum": 0},
    "available_bikes": {"type": "integer", "minimum": 0},
    "status": {"type": "string"},
    "last_update": {"type": "integer", "description": "Event time, milliseconds since the Unix epoch."}
  },
  "required": ["number", "contract_name", "name", "bike_stands", "available_bike_stands",
               "available_bikes", "status", "last_update"]
}"#;

/// A stock tick (`StockTick` and `Price` in events.rs).
pub const STOCK_TICK_SCHEMA: &str = r#"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "StockTick",
  "description": "A stock tick, in the stock fetcher's field names (one quote per record).",
  "type": "object",
  "properties": {
    "symbol": {"type": "string", "description": "The stock symbol (the record key)."},
    "name": {"type": "string"},
    "price": {
      "type": "object",
      "properties": {
        "currency": {"type": "string"},
        "amount": {"type": "number"}
      },
      "required": ["currency", "amount"]
    },
    "percent_change": {"type": "number"},
    "volume": {"type": "integer", "minimum": 0},
    "as_of": {"type": "integer", "description": "Event time, milliseconds since the Unix epoch."}
  },
  "required": ["symbol", "name", "price", "percent_change", "volume", "as_of"]
}"#;

static STATION_STATUS: LazyLock<Value> = LazyLock::new(|| parse_ours(STATION_STATUS_SCHEMA));
static STOCK_TICK: LazyLock<Value> = LazyLock::new(|| parse_ours(STOCK_TICK_SCHEMA));

fn parse_ours(json: &str) -> Value {
    serde_json::from_str(json).expect("the demo events' JSON Schemas are valid JSON (unit-tested)")
}

/// Why a writer schema does not describe the expected event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonSchemaError {
    #[error("failed to parse the writer schema as JSON: {0}")]
    NotJson(String),
    #[error("failed to use the writer schema for {title}: it describes {found}, not an object")]
    NotAnObject { title: &'static str, found: String },
    #[error("failed to use the writer schema for {title}: it declares no property {property}")]
    MissingProperty {
        title: &'static str,
        property: String,
    },
    #[error(
        "failed to use the writer schema for {title}: the property {property} is {found}, expected {expected}"
    )]
    WrongType {
        title: &'static str,
        property: String,
        found: String,
        expected: &'static str,
    },
}

/// The JSON Schema (JSON text) of `kind`'s events, as registered.
pub fn schema_json(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Bikes => STATION_STATUS_SCHEMA,
        EventKind::Stocks => STOCK_TICK_SCHEMA,
    }
}

fn schema(kind: EventKind) -> &'static Value {
    match kind {
        EventKind::Bikes => &STATION_STATUS,
        EventKind::Stocks => &STOCK_TICK,
    }
}

/// The schema's title, e.g. `StationStatus`.
pub fn title(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Bikes => "StationStatus",
        EventKind::Stocks => "StockTick",
    }
}

/// Checks that the writer schema `json` describes `kind`'s events (see the module's doc).
pub fn check_writer(kind: EventKind, json: &str) -> Result<(), JsonSchemaError> {
    let writer: Value =
        serde_json::from_str(json).map_err(|e| JsonSchemaError::NotJson(e.to_string()))?;
    check_object(title(kind), schema(kind), &writer, "")
}

/// `writer` (at `path`, "" for the root) declares every property `ours` requires, with a fitting type;
/// nested objects alike.
fn check_object(
    title: &'static str,
    ours: &Value,
    writer: &Value,
    path: &str,
) -> Result<(), JsonSchemaError> {
    if let Some(found) = declared_types(writer)
        .and_then(|types| (!types.iter().all(|t| *t == "object")).then(|| describe(&types)))
    {
        if path.is_empty() {
            return Err(JsonSchemaError::NotAnObject { title, found });
        }
        return Err(JsonSchemaError::WrongType {
            title,
            property: path.to_string(),
            found,
            expected: "an object",
        });
    }
    for name in required(ours) {
        let property = if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        };
        let our_property = &ours["properties"][name];
        let Some(writer_property) = writer["properties"].get(name) else {
            return Err(JsonSchemaError::MissingProperty { title, property });
        };
        let expected = our_property["type"].as_str().unwrap_or_default();
        if expected == "object" {
            check_object(title, our_property, writer_property, &property)?;
        } else if let Some(types) = declared_types(writer_property)
            && !types.iter().all(|t| fits(t, expected))
        {
            return Err(JsonSchemaError::WrongType {
                title,
                property,
                found: describe(&types),
                expected: article(expected),
            });
        }
    }
    Ok(())
}

/// The names in a schema's `required`.
fn required(schema: &Value) -> impl Iterator<Item = &str> {
    schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// A schema's `type`, as a list; `None` when it declares none (any type).
fn declared_types(schema: &Value) -> Option<Vec<&str>> {
    match &schema["type"] {
        Value::String(t) => Some(vec![t.as_str()]),
        Value::Array(types) => Some(types.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

/// A value of JSON Schema type `writer` is one of type `ours` (an integer is a number).
fn fits(writer: &str, ours: &str) -> bool {
    writer == ours || (ours == "number" && writer == "integer")
}

fn describe(types: &[&str]) -> String {
    match types {
        [one] => article(one).to_string(),
        many => format!("one of {}", many.join(", ")),
    }
}

fn article(t: &str) -> &'static str {
    match t {
        "integer" => "an integer",
        "number" => "a number",
        "string" => "a string",
        "object" => "an object",
        "array" => "an array",
        "boolean" => "a boolean",
        "null" => "null",
        _ => "another type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Generator;

    /// A JSON value is of JSON Schema type `t`.
    fn is_of_type(value: &Value, t: &str) -> bool {
        match t {
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "object" => value.is_object(),
            other => panic!("a type the demo schemas do not use: {other}"),
        }
    }

    /// `value` has exactly the schema's properties, each of its type (and `minimum`), all required;
    /// nested objects alike.
    fn assert_conforms(schema: &Value, value: &Value, at: &str) {
        let properties = schema["properties"].as_object().unwrap();
        let object = value.as_object().unwrap();
        let mut keys: Vec<&String> = object.keys().collect();
        let mut declared: Vec<&String> = properties.keys().collect();
        keys.sort();
        declared.sort();
        assert_eq!(keys, declared, "{at}");
        assert_eq!(
            required(schema).count(),
            declared.len(),
            "{at}: all required"
        );
        for (name, property) in properties {
            let v = &object[name];
            let t = property["type"].as_str().unwrap();
            assert!(is_of_type(v, t), "{at}.{name}: {v} is not {t}");
            if let Some(min) = property["minimum"].as_i64() {
                assert!(v.as_i64().unwrap() >= min, "{at}.{name}: {v} < {min}");
            }
            if t == "object" {
                assert_conforms(property, v, &format!("{at}.{name}"));
            }
        }
    }

    #[test]
    fn generated_events_conform_to_their_schemas() {
        for kind in [EventKind::Bikes, EventKind::Stocks] {
            assert_eq!(schema(kind)["title"], title(kind));
            let mut generator = Generator::new(kind, 9, 30, 1_700_000_000_000, 100);
            for _ in 0..2000 {
                let json: Value = serde_json::from_str(&generator.next_event().to_json()).unwrap();
                assert_conforms(schema(kind), &json, title(kind));
            }
            check_writer(kind, schema_json(kind)).unwrap();
        }
    }

    #[test]
    fn writer_schemas_of_other_events_or_types_are_refused_by_name() {
        let err = |kind, json: &str| check_writer(kind, json).unwrap_err().to_string();
        assert_eq!(
            err(EventKind::Bikes, STOCK_TICK_SCHEMA),
            "failed to use the writer schema for StationStatus: it declares no property number"
        );
        assert_eq!(
            err(EventKind::Stocks, STATION_STATUS_SCHEMA),
            "failed to use the writer schema for StockTick: it declares no property symbol"
        );
        assert!(
            err(EventKind::Bikes, "{").starts_with("failed to parse the writer schema as JSON")
        );
        assert_eq!(
            err(EventKind::Bikes, r#"{"type": "array"}"#),
            "failed to use the writer schema for StationStatus: it describes an array, not an object"
        );
        let with = |property: &str, schema: &str| {
            let mut s: Value = serde_json::from_str(STOCK_TICK_SCHEMA).unwrap();
            let mut at = &mut s;
            for part in property.split('.') {
                at = &mut at["properties"][part];
            }
            *at = serde_json::from_str(schema).unwrap();
            s.to_string()
        };
        assert_eq!(
            err(EventKind::Stocks, &with("volume", r#"{"type": "string"}"#)),
            "failed to use the writer schema for StockTick: the property volume is a string, expected an integer"
        );
        assert_eq!(
            err(
                EventKind::Stocks,
                &with("price.amount", r#"{"type": ["number", "null"]}"#)
            ),
            "failed to use the writer schema for StockTick: the property price.amount is one of number, null, \
             expected a number"
        );
        assert_eq!(
            err(EventKind::Stocks, &with("price", r#"{"type": "number"}"#)),
            "failed to use the writer schema for StockTick: the property price is a number, expected an object"
        );
        assert_eq!(
            err(EventKind::Stocks, &with("price", r#"{"type": "object"}"#)),
            "failed to use the writer schema for StockTick: it declares no property price.currency"
        );
        // An integer fits a number; a property without a type is left to the parser; extra properties
        // and a root without a type are fine.
        for ok in [
            with("price.amount", r#"{"type": "integer"}"#),
            with("name", r#"{"enum": ["A", "B"]}"#),
            r#"{"properties": {"symbol": {}, "name": {}, "price": {"properties": {"currency": {},
                "amount": {}}}, "percent_change": {}, "volume": {}, "as_of": {}, "extra": {}}}"#
                .to_string(),
        ] {
            check_writer(EventKind::Stocks, &ok).unwrap();
        }
    }
}
