//! The Hive metastore calls the jobs make (databases, an external Parquet table partitioned by columns,
//! its partitions), over Thrift (`crate::thrift`), field ids from Hive 4's `hive_metastore.thrift`.
//! The builders of the request structs are pure; `Metastore` sends them.

use std::time::Duration;

use crate::thrift::{Client, ThriftError, Value};

/// Hive's Parquet input/output formats and SerDe: what `STORED AS PARQUET` records.
const PARQUET_INPUT_FORMAT: &str = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
const PARQUET_OUTPUT_FORMAT: &str =
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";
const PARQUET_SERDE: &str = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";

/// A column: its name and Hive type (`int`, `bigint`, `double`, `string`, `timestamp`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub hive_type: String,
}

impl Column {
    pub fn new(name: &str, hive_type: &str) -> Column {
        Column {
            name: name.to_string(),
            hive_type: hive_type.to_string(),
        }
    }

    fn to_value(&self) -> Value {
        Value::Struct(vec![
            (1, Value::string(&self.name)),
            (2, Value::string(&self.hive_type)),
            (3, Value::string("")),
        ])
    }

    fn from_value(v: &Value) -> Option<Column> {
        Some(Column::new(v.field(1)?.as_str()?, v.field(2)?.as_str()?))
    }
}

/// An external table of Parquet files, partitioned by `partition_keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub database: String,
    pub name: String,
    pub columns: Vec<Column>,
    pub partition_keys: Vec<Column>,
    pub location: String,
    pub comment: String,
}

/// What the metastore knows of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    pub location: String,
    pub columns: Vec<Column>,
    pub partition_keys: Vec<Column>,
    pub table_type: String,
}

/// What the metastore knows of a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub values: Vec<String>,
    pub location: String,
    pub parameters: Vec<(String, String)>,
}

impl PartitionInfo {
    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn now_seconds() -> i32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i32)
}

/// A StorageDescriptor of Parquet files at `location`.
pub fn parquet_storage(columns: &[Column], location: &str) -> Value {
    Value::Struct(vec![
        (
            1,
            Value::structs(columns.iter().map(Column::to_value).collect()),
        ),
        (2, Value::string(location)),
        (3, Value::string(PARQUET_INPUT_FORMAT)),
        (4, Value::string(PARQUET_OUTPUT_FORMAT)),
        (5, Value::Bool(false)),
        (6, Value::I32(-1)),
        (
            7,
            Value::Struct(vec![
                (1, Value::string("")),
                (2, Value::string(PARQUET_SERDE)),
                (3, Value::string_map([("serialization.format", "1")])),
            ]),
        ),
        (8, Value::strings(Vec::<String>::new())),
        (9, Value::structs(Vec::new())),
        (10, Value::string_map(Vec::<(String, String)>::new())),
    ])
}

/// The `Table` struct of an external, partitioned Parquet table.
pub fn table_value(spec: &TableSpec, owner: &str, created: i32) -> Value {
    Value::Struct(vec![
        (1, Value::string(&spec.name)),
        (2, Value::string(&spec.database)),
        (3, Value::string(owner)),
        (4, Value::I32(created)),
        (5, Value::I32(0)),
        (6, Value::I32(0)),
        (7, parquet_storage(&spec.columns, &spec.location)),
        (
            8,
            Value::structs(spec.partition_keys.iter().map(Column::to_value).collect()),
        ),
        (
            9,
            Value::string_map([
                ("EXTERNAL", "TRUE"),
                ("comment", spec.comment.as_str()),
                ("parquet.compression", "SNAPPY"),
            ]),
        ),
        (12, Value::string("EXTERNAL_TABLE")),
    ])
}

/// The `Partition` struct of `spec`'s partition with these values, at `location`.
pub fn partition_value(
    spec: &TableSpec,
    values: &[String],
    location: &str,
    parameters: &[(String, String)],
    created: i32,
) -> Value {
    Value::Struct(vec![
        (1, Value::strings(values)),
        (2, Value::string(&spec.database)),
        (3, Value::string(&spec.name)),
        (4, Value::I32(created)),
        (5, Value::I32(0)),
        (6, parquet_storage(&spec.columns, location)),
        (7, Value::string_map(parameters.iter().cloned())),
    ])
}

/// `key1=value1/key2=value2`, Hive's partition name (values escaped as Hive does for the common cases).
pub fn partition_name(keys: &[Column], values: &[String]) -> String {
    keys.iter()
        .zip(values)
        .map(|(k, v)| format!("{}={}", k.name, escape_path_name(v)))
        .collect::<Vec<_>>()
        .join("/")
}

fn escape_path_name(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_control() || "\"#%'*/:=?\\{[]^".contains(c) {
            for b in c.to_string().bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A connection to a Hive metastore.
pub struct Metastore {
    client: Client,
}

impl Metastore {
    /// Connects to `thrift://host:port` (or `host:port`).
    pub fn connect(uri: &str, timeout: Duration) -> Result<Metastore, ThriftError> {
        let address = uri.trim_start_matches("thrift://").trim_end_matches('/');
        Ok(Metastore {
            client: Client::connect(address, timeout)?,
        })
    }

    pub fn all_databases(&mut self) -> Result<Vec<String>, ThriftError> {
        let names = self.client.call("get_all_databases", vec![])?;
        Ok(names
            .as_ref()
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect())
    }

    /// The database's location, or `None` if there is no such database.
    pub fn database_location(&mut self, name: &str) -> Result<Option<String>, ThriftError> {
        match self
            .client
            .call("get_database", vec![(1, Value::string(name))])
        {
            Ok(db) => Ok(Some(
                db.as_ref()
                    .and_then(|d| d.field(3))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            )),
            // throws (1: NoSuchObjectException o1, 2: MetaException o2)
            Err(ThriftError::Declared { field: 1, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a database (at the metastore's default location); one that exists already is fine.
    pub fn create_database(&mut self, name: &str, description: &str) -> Result<(), ThriftError> {
        let database = Value::Struct(vec![
            (1, Value::string(name)),
            (2, Value::string(description)),
            (4, Value::string_map(Vec::<(String, String)>::new())),
        ]);
        match self.client.call("create_database", vec![(1, database)]) {
            // throws (1: AlreadyExistsException o1, ...)
            Ok(_) | Err(ThriftError::Declared { field: 1, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Drops a database (with its tables if `cascade`; their files stay, the tables being external).
    pub fn drop_database(&mut self, name: &str, cascade: bool) -> Result<(), ThriftError> {
        let args = vec![
            (1, Value::string(name)),
            (2, Value::Bool(false)),
            (3, Value::Bool(cascade)),
        ];
        self.client.call("drop_database", args).map(drop)
    }

    /// The table, or `None` if there is no such table.
    pub fn table(&mut self, database: &str, name: &str) -> Result<Option<TableInfo>, ThriftError> {
        // get_table_req(GetTableRequest{1: dbName, 2: tblName}) -> GetTableResult{1: table}: Hive 4 has
        // no plain get_table.
        let request = Value::Struct(vec![(1, Value::string(database)), (2, Value::string(name))]);
        let table = match self.client.call("get_table_req", vec![(1, request)]) {
            Ok(result) => result
                .and_then(|r| r.field(1).cloned())
                .unwrap_or(Value::Struct(vec![])),
            // throws (1: MetaException o1, 2: NoSuchObjectException o2)
            Err(ThriftError::Declared { field: 2, .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let columns = |v: Option<&Value>| {
            v.and_then(Value::as_list)
                .unwrap_or_default()
                .iter()
                .filter_map(Column::from_value)
                .collect()
        };
        let sd = table.field(7);
        Ok(Some(TableInfo {
            location: sd
                .and_then(|sd| sd.field(2))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            columns: columns(sd.and_then(|sd| sd.field(1))),
            partition_keys: columns(table.field(8)),
            table_type: table
                .field(12)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        }))
    }

    pub fn create_table(&mut self, spec: &TableSpec) -> Result<(), ThriftError> {
        let table = table_value(spec, "bigdata", now_seconds());
        self.client.call("create_table", vec![(1, table)]).map(drop)
    }

    /// The partition named `key=value/...`, or `None` if there is none.
    pub fn partition(
        &mut self,
        spec: &TableSpec,
        name: &str,
    ) -> Result<Option<PartitionInfo>, ThriftError> {
        let args = vec![
            (1, Value::string(&spec.database)),
            (2, Value::string(&spec.name)),
            (3, Value::string(name)),
        ];
        let partition = match self.client.call("get_partition_by_name", args) {
            Ok(p) => p.unwrap_or(Value::Struct(vec![])),
            // throws (1: MetaException o1, 2: NoSuchObjectException o2)
            Err(ThriftError::Declared { field: 2, .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(PartitionInfo {
            values: partition
                .field(1)
                .and_then(Value::as_list)
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            location: partition
                .field(6)
                .and_then(|sd| sd.field(2))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            parameters: partition
                .field(7)
                .map(Value::as_string_map)
                .unwrap_or_default(),
        }))
    }

    /// Adds the partition, or replaces its metadata (location, parameters) if it exists.
    pub fn put_partition(
        &mut self,
        spec: &TableSpec,
        values: &[String],
        location: &str,
        parameters: &[(String, String)],
        exists: bool,
    ) -> Result<(), ThriftError> {
        let partition = partition_value(spec, values, location, parameters, now_seconds());
        if exists {
            let args = vec![
                (1, Value::string(&spec.database)),
                (2, Value::string(&spec.name)),
                (3, partition),
            ];
            self.client.call("alter_partition", args).map(drop)
        } else {
            self.client
                .call("add_partition", vec![(1, partition)])
                .map(drop)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TableSpec {
        TableSpec {
            database: "demo".into(),
            name: "bikes".into(),
            columns: vec![Column::new("number", "int"), Column::new("name", "string")],
            partition_keys: vec![Column::new("dt", "string")],
            location: "hdfs://nn:8020/warehouse/demo.db/bikes".into(),
            comment: "test".into(),
        }
    }

    #[test]
    fn an_external_parquet_table() {
        let t = table_value(&spec(), "bigdata", 1);
        assert_eq!(t.field(1).and_then(Value::as_str), Some("bikes"));
        assert_eq!(t.field(12).and_then(Value::as_str), Some("EXTERNAL_TABLE"));
        let sd = t.field(7).unwrap();
        assert_eq!(
            sd.field(2).and_then(Value::as_str),
            Some("hdfs://nn:8020/warehouse/demo.db/bikes")
        );
        assert_eq!(
            sd.field(7).and_then(|s| s.field(2)).and_then(Value::as_str),
            Some(PARQUET_SERDE)
        );
        let cols: Vec<Column> = sd
            .field(1)
            .and_then(Value::as_list)
            .unwrap()
            .iter()
            .filter_map(Column::from_value)
            .collect();
        assert_eq!(cols, spec().columns);
        let params = t.field(9).unwrap().as_string_map();
        assert!(params.contains(&("EXTERNAL".into(), "TRUE".into())));
    }

    #[test]
    fn partitions_and_their_names() {
        let s = spec();
        let p = partition_value(&s, &["2023-11-14".into()], "hdfs://x/dt=2023-11-14", &[], 1);
        assert_eq!(
            p.field(1).and_then(Value::as_list).unwrap(),
            &[Value::string("2023-11-14")]
        );
        assert_eq!(
            partition_name(&s.partition_keys, &["2023-11-14".into()]),
            "dt=2023-11-14"
        );
        assert_eq!(
            partition_name(&s.partition_keys, &["a/b:c".into()]),
            "dt=a%2Fb%3Ac"
        );
    }
}
