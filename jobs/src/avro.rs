//! The demo events in Avro: their schemas and the conversions between an Avro datum and the event (and
//! so its JSON). In Kafka, a datum is framed in the Confluent wire format (`wire.rs`) with its writer
//! schema's id in the registry.
//!
//! The schemas keep the JSON field names. Unsigned fields are Avro `long` (an `int` cannot hold every
//! u32); a writer schema with `int` there still reads (Avro promotes int to long). Reading resolves the
//! writer schema (from the registry) to ours, so added fields with defaults and promotions are accepted.

use std::sync::LazyLock;

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::schema_compatibility::SchemaCompatibility;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;

use crate::events::{DemoEvent, EventKind, Price, StationStatus, StockTick};

/// A bike station's status (`StationStatus` in events.rs).
pub const STATION_STATUS_SCHEMA: &str = r#"{
  "type": "record",
  "name": "StationStatus",
  "namespace": "bigdata",
  "doc": "A bike station's status, in the JCDecaux API's field names.",
  "fields": [
    {"name": "number", "type": "long", "doc": "The station number (the record key)."},
    {"name": "contract_name", "type": "string"},
    {"name": "name", "type": "string"},
    {"name": "bike_stands", "type": "long"},
    {"name": "available_bike_stands", "type": "long"},
    {"name": "available_bikes", "type": "long"},
    {"name": "status", "type": "string"},
    {"name": "last_update", "type": "long", "doc": "Event time, milliseconds since the Unix epoch."}
  ]
}"#;

/// A stock tick (`StockTick` and `Price` in events.rs).
pub const STOCK_TICK_SCHEMA: &str = r#"{
  "type": "record",
  "name": "StockTick",
  "namespace": "bigdata",
  "doc": "A stock tick, in the stock fetcher's field names (one quote per record).",
  "fields": [
    {"name": "symbol", "type": "string", "doc": "The stock symbol (the record key)."},
    {"name": "name", "type": "string"},
    {"name": "price", "type": {
      "type": "record",
      "name": "Price",
      "fields": [
        {"name": "currency", "type": "string"},
        {"name": "amount", "type": "double"}
      ]
    }},
    {"name": "percent_change", "type": "double"},
    {"name": "volume", "type": "long"},
    {"name": "as_of", "type": "long", "doc": "Event time, milliseconds since the Unix epoch."}
  ]
}"#;

static STATION_STATUS: LazyLock<Schema> = LazyLock::new(|| parse_ours(STATION_STATUS_SCHEMA));
static STOCK_TICK: LazyLock<Schema> = LazyLock::new(|| parse_ours(STOCK_TICK_SCHEMA));

fn parse_ours(json: &str) -> Schema {
    Schema::parse_str(json).expect("the demo events' schemas are valid (unit-tested)")
}

/// Why a value could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum AvroError {
    #[error("failed to parse the writer schema: {0}")]
    BadSchema(String),
    #[error("failed to use the writer schema for {reader}: {detail}")]
    Incompatible { reader: String, detail: String },
    #[error("failed to decode the Avro datum: {0}")]
    Decode(String),
    #[error("failed to decode the Avro datum: {0} bytes left after it")]
    TrailingBytes(usize),
    #[error("failed to read the {reader} record: {detail}")]
    Convert { reader: String, detail: String },
    #[error("failed to encode the event as Avro: {0}")]
    Encode(String),
}

/// The Avro schema (JSON) of `kind`'s events, as registered.
pub fn schema_json(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Bikes => STATION_STATUS_SCHEMA,
        EventKind::Stocks => STOCK_TICK_SCHEMA,
    }
}

/// The parsed schema of `kind`'s events (the reader schema of `stream`).
pub fn schema(kind: EventKind) -> &'static Schema {
    match kind {
        EventKind::Bikes => &STATION_STATUS,
        EventKind::Stocks => &STOCK_TICK,
    }
}

/// The full name of `kind`'s record, e.g. `bigdata.StationStatus`.
pub fn record_name(kind: EventKind) -> String {
    schema(kind)
        .name()
        .map(|n| n.fullname(None))
        .unwrap_or_default()
}

/// Encodes events of one kind as Avro datums of their schema.
pub struct Encoder {
    writer: GenericDatumWriter<'static>,
}

impl Encoder {
    pub fn new(kind: EventKind) -> Result<Encoder, AvroError> {
        let writer = GenericDatumWriter::builder(schema(kind))
            .build()
            .map_err(|e| AvroError::Encode(e.to_string()))?;
        Ok(Encoder { writer })
    }

    /// The Avro binary datum of `event` (validated against the schema: an event of another kind fails).
    pub fn datum(&self, event: &DemoEvent) -> Result<Vec<u8>, AvroError> {
        self.writer
            .write_value_to_vec(to_value(event)?)
            .map_err(|e| AvroError::Encode(e.to_string()))
    }
}

fn to_value(event: &DemoEvent) -> Result<Value, AvroError> {
    let record = |fields: Vec<(&str, Value)>| {
        Value::Record(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    };
    Ok(match event {
        DemoEvent::Station(s) => record(vec![
            ("number", Value::Long(s.number.into())),
            ("contract_name", Value::String(s.contract_name.clone())),
            ("name", Value::String(s.name.clone())),
            ("bike_stands", Value::Long(s.bike_stands.into())),
            (
                "available_bike_stands",
                Value::Long(s.available_bike_stands.into()),
            ),
            ("available_bikes", Value::Long(s.available_bikes.into())),
            ("status", Value::String(s.status.clone())),
            ("last_update", Value::Long(s.last_update)),
        ]),
        DemoEvent::Tick(t) => {
            let volume = i64::try_from(t.volume).map_err(|_| {
                AvroError::Encode(format!("volume {} does not fit a long", t.volume))
            })?;
            record(vec![
                ("symbol", Value::String(t.symbol.clone())),
                ("name", Value::String(t.name.clone())),
                (
                    "price",
                    record(vec![
                        ("currency", Value::String(t.price.currency.clone())),
                        ("amount", Value::Double(t.price.amount)),
                    ]),
                ),
                ("percent_change", Value::Double(t.percent_change)),
                ("volume", Value::Long(volume)),
                ("as_of", Value::Long(t.as_of)),
            ])
        }
    })
}

/// A writer schema (from the registry) checked against `kind`'s schema: its datums decode as `kind`'s
/// events, with a reader resolved once (resolving it per datum halved stream's throughput).
pub struct WriterSchema {
    kind: EventKind,
    reader: GenericDatumReader<'static>,
}

impl std::fmt::Debug for WriterSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterSchema")
            .field("kind", &self.kind)
            .finish()
    }
}

impl WriterSchema {
    /// Parses `json` and checks that it can be read as `kind`'s record (same record name, every field
    /// of ours present or defaulted, types equal or promotable).
    pub fn new(kind: EventKind, json: &str) -> Result<WriterSchema, AvroError> {
        let schema = Schema::parse_str(json).map_err(|e| AvroError::BadSchema(e.to_string()))?;
        SchemaCompatibility::can_read(&schema, self::schema(kind)).map_err(|e| {
            AvroError::Incompatible {
                reader: record_name(kind),
                detail: e.to_string(),
            }
        })?;
        // The reader borrows the writer schema for as long as it lives: a stream keeps each schema id's
        // reader to its end, so the schema is kept too (one per id the input uses).
        let writer: &'static Schema = Box::leak(Box::new(schema));
        let reader = GenericDatumReader::builder(writer)
            .reader_schema(self::schema(kind))
            .build()
            .map_err(|e| AvroError::Incompatible {
                reader: record_name(kind),
                detail: e.to_string(),
            })?;
        Ok(WriterSchema { kind, reader })
    }

    /// Decodes one datum (all of it) into the event.
    pub fn decode(&self, datum: &[u8]) -> Result<DemoEvent, AvroError> {
        let mut rest = datum;
        let value = self
            .reader
            .read_value(&mut rest)
            .map_err(|e| AvroError::Decode(e.to_string()))?;
        if !rest.is_empty() {
            return Err(AvroError::TrailingBytes(rest.len()));
        }
        from_value(self.kind, value).map_err(|detail| AvroError::Convert {
            reader: record_name(self.kind),
            detail,
        })
    }

    /// Decodes one datum into the event's JSON: the same bytes as the generator's JSON of that event.
    pub fn decode_to_json(&self, datum: &[u8]) -> Result<Vec<u8>, AvroError> {
        Ok(self.decode(datum)?.to_json().into_bytes())
    }
}

/// The fields of a resolved record (in the reader schema's order), by name.
struct Fields(Vec<(String, Value)>);

impl Fields {
    fn of(value: Value) -> Result<Fields, String> {
        match value {
            Value::Record(fields) => Ok(Fields(fields)),
            other => Err(format!("not a record: {other:?}")),
        }
    }

    fn take(&mut self, name: &str) -> Result<Value, String> {
        let i = self
            .0
            .iter()
            .position(|(n, _)| n == name)
            .ok_or_else(|| format!("no field {name}"))?;
        Ok(self.0.swap_remove(i).1)
    }

    fn long(&mut self, name: &str) -> Result<i64, String> {
        match self.take(name)? {
            Value::Long(v) => Ok(v),
            Value::Int(v) => Ok(v.into()),
            other => Err(format!("{name} is not a long: {other:?}")),
        }
    }

    fn unsigned<T: TryFrom<i64>>(&mut self, name: &str) -> Result<T, String> {
        let v = self.long(name)?;
        T::try_from(v).map_err(|_| {
            format!(
                "{name} is {v}, out of the range of {}",
                std::any::type_name::<T>()
            )
        })
    }

    fn double(&mut self, name: &str) -> Result<f64, String> {
        match self.take(name)? {
            Value::Double(v) => Ok(v),
            Value::Float(v) => Ok(v.into()),
            other => Err(format!("{name} is not a double: {other:?}")),
        }
    }

    fn string(&mut self, name: &str) -> Result<String, String> {
        match self.take(name)? {
            Value::String(v) => Ok(v),
            other => Err(format!("{name} is not a string: {other:?}")),
        }
    }

    fn record(&mut self, name: &str) -> Result<Fields, String> {
        Fields::of(self.take(name)?).map_err(|e| format!("{name}: {e}"))
    }
}

fn from_value(kind: EventKind, value: Value) -> Result<DemoEvent, String> {
    let mut f = Fields::of(value)?;
    Ok(match kind {
        EventKind::Bikes => DemoEvent::Station(StationStatus {
            number: f.unsigned("number")?,
            contract_name: f.string("contract_name")?,
            name: f.string("name")?,
            bike_stands: f.unsigned("bike_stands")?,
            available_bike_stands: f.unsigned("available_bike_stands")?,
            available_bikes: f.unsigned("available_bikes")?,
            status: f.string("status")?,
            last_update: f.long("last_update")?,
        }),
        EventKind::Stocks => {
            let mut price = f.record("price")?;
            DemoEvent::Tick(StockTick {
                symbol: f.string("symbol")?,
                name: f.string("name")?,
                price: Price {
                    currency: price.string("currency")?,
                    amount: price.double("amount")?,
                },
                percent_change: f.double("percent_change")?,
                volume: f.unsigned("volume")?,
                as_of: f.long("as_of")?,
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Generator;
    use crate::wire::{frame, unframe};

    fn generated(kind: EventKind, n: usize) -> Vec<DemoEvent> {
        let mut g = Generator::new(kind, 9, 30, 1_700_000_000_000, 100);
        (0..n).map(|_| g.next_event()).collect()
    }

    #[test]
    fn the_schemas_parse_with_the_json_field_names() {
        for kind in [EventKind::Bikes, EventKind::Stocks] {
            let schema = schema(kind);
            let Schema::Record(record) = schema else {
                panic!("{kind:?}: not a record");
            };
            let names: Vec<&str> = record.fields.iter().map(|f| f.name.as_str()).collect();
            // The JSON of a generated event has exactly these fields, in this order.
            let json: serde_json::Value =
                serde_json::from_str(&generated(kind, 1)[0].to_json()).unwrap();
            let keys: Vec<&str> = json
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            assert_eq!(keys, sorted, "{kind:?}");
        }
        assert_eq!(record_name(EventKind::Bikes), "bigdata.StationStatus");
        assert_eq!(record_name(EventKind::Stocks), "bigdata.StockTick");
    }

    /// Every generated event of both kinds: encoded, framed, unframed, decoded with its schema as the
    /// writer schema: the same JSON bytes as the generator's.
    #[test]
    fn generated_events_roundtrip_through_avro_to_the_same_json() {
        for kind in [EventKind::Bikes, EventKind::Stocks] {
            let encoder = Encoder::new(kind).unwrap();
            let writer = WriterSchema::new(kind, schema_json(kind)).unwrap();
            for event in generated(kind, 2000) {
                let value = frame(42, &encoder.datum(&event).unwrap());
                let (id, datum) = unframe(&value).unwrap();
                assert_eq!(id, 42);
                assert_eq!(writer.decode(datum).unwrap(), event);
                assert_eq!(
                    writer.decode_to_json(datum).unwrap(),
                    event.to_json().into_bytes()
                );
            }
        }
    }

    #[test]
    fn a_datum_is_the_avro_binary_encoding() {
        // A tick, encoded by hand: strings are a zigzag length and the bytes, longs zigzag varints,
        // doubles 8 bytes little-endian.
        let tick = DemoEvent::Tick(StockTick {
            symbol: "SM".into(),
            name: "S".into(),
            price: Price {
                currency: "P".into(),
                amount: 1.5,
            },
            percent_change: -0.25,
            volume: 3,
            as_of: -1,
        });
        let mut want = vec![4, b'S', b'M', 2, b'S', 2, b'P'];
        want.extend_from_slice(&1.5f64.to_le_bytes());
        want.extend_from_slice(&(-0.25f64).to_le_bytes());
        want.extend_from_slice(&[6, 1]);
        assert_eq!(
            Encoder::new(EventKind::Stocks)
                .unwrap()
                .datum(&tick)
                .unwrap(),
            want
        );
        // An event of the other kind does not validate.
        assert!(
            Encoder::new(EventKind::Bikes)
                .unwrap()
                .datum(&tick)
                .is_err()
        );
    }

    #[test]
    fn a_writer_schema_with_ints_and_an_extra_field_still_reads() {
        // Another producer's schema: ints for the counts, fields in another order, one more field.
        let writer_json = r#"{"type":"record","name":"StationStatus","namespace":"other","fields":[
            {"name":"last_update","type":"long"},
            {"name":"number","type":"int"},
            {"name":"contract_name","type":"string"},
            {"name":"name","type":"string"},
            {"name":"bike_stands","type":"int"},
            {"name":"available_bike_stands","type":"int"},
            {"name":"available_bikes","type":"int"},
            {"name":"status","type":"string"},
            {"name":"banking","type":"boolean"}]}"#;
        let writer = WriterSchema::new(EventKind::Bikes, writer_json).unwrap();
        let mut datum = vec![];
        datum.extend_from_slice(&[0xd0, 0x0f]); // last_update 1000
        datum.push(34); // number 17
        datum.extend_from_slice(&[8, b'l', b'y', b'o', b'n']);
        datum.extend_from_slice(&[2, b'X']);
        datum.extend_from_slice(&[40, 10, 30]); // 20 stands, 5 free, 15 bikes
        datum.extend_from_slice(&[8, b'O', b'P', b'E', b'N']);
        datum.push(1); // banking: true
        assert_eq!(
            String::from_utf8(writer.decode_to_json(&datum).unwrap()).unwrap(),
            r#"{"number":17,"contract_name":"lyon","name":"X","bike_stands":20,"available_bike_stands":5,"available_bikes":15,"status":"OPEN","last_update":1000}"#
        );
    }

    #[test]
    fn another_events_schema_is_refused() {
        let e = WriterSchema::new(EventKind::Bikes, STOCK_TICK_SCHEMA).unwrap_err();
        assert!(matches!(e, AvroError::Incompatible { .. }), "{e}");
        assert!(e.to_string().contains("bigdata.StationStatus"), "{e}");
        // Same name, a field of ours missing (no default).
        let e = WriterSchema::new(
            EventKind::Bikes,
            r#"{"type":"record","name":"StationStatus","fields":[{"name":"number","type":"long"}]}"#,
        )
        .unwrap_err();
        assert!(matches!(e, AvroError::Incompatible { .. }), "{e}");
        assert!(matches!(
            WriterSchema::new(EventKind::Bikes, "{not json"),
            Err(AvroError::BadSchema(_))
        ));
        assert!(matches!(
            WriterSchema::new(EventKind::Bikes, r#""string""#),
            Err(AvroError::Incompatible { .. })
        ));
    }

    #[test]
    fn corrupt_datums_fail_to_decode() {
        let encoder = Encoder::new(EventKind::Bikes).unwrap();
        let writer = WriterSchema::new(EventKind::Bikes, STATION_STATUS_SCHEMA).unwrap();
        let datum = encoder.datum(&generated(EventKind::Bikes, 1)[0]).unwrap();
        for cut in 0..datum.len() {
            assert!(
                writer.decode(&datum[..cut]).is_err(),
                "a datum cut at {cut} decoded"
            );
        }
        let mut longer = datum.clone();
        longer.extend_from_slice(b"xyz");
        assert!(matches!(
            writer.decode(&longer),
            Err(AvroError::TrailingBytes(3))
        ));
        // A negative string length.
        assert!(matches!(
            writer.decode(&[2, 3, b'a']),
            Err(AvroError::Decode(_))
        ));
        // A station number beyond u32.
        let mut big = vec![0x80, 0x80, 0x80, 0x80, 0x20]; // zigzag(4294967296)
        big.extend_from_slice(&datum[1..]);
        let e = writer.decode(&big).unwrap_err();
        assert!(matches!(e, AvroError::Convert { .. }), "{e}");
    }
}
