//! `compact`: JSON-lines events landed on HDFS become Parquet files partitioned by date (`dt=YYYY-MM-DD`,
//! the UTC date of the event time), registered as an external table and its partitions in the Hive
//! metastore, so that Spark SQL and Hive query them.
//!
//! Each run rebuilds the partitions of the dates found in the input from all of the input's events of
//! those dates: events are deduplicated by (key, event time) (landing is at-least-once across crashes),
//! sorted, and written as one `part-00000.parquet` per partition (to a hidden temporary name, then renamed
//! over the old file). A partition whose content fingerprint (kept in its metastore parameters) is
//! unchanged is left alone, so a second run over the same input writes nothing. A run stopped half-way
//! leaves every partition either old or new, and the next run converges.
//!
//! Across pods (an Indexed Job, `--shards N`): the unit of work is a date, because a partition is rebuilt
//! from all of its date's events at once. Process `i` of `N` takes the dates whose day number (days since
//! 1970-01-01) modulo `N` is `i` ([`DateShard`]): consecutive days go round-robin, and every process agrees
//! on the owner of a date whatever it listed (new files may land while the pods start), so no partition is
//! written by two processes. It reads only the `dt=YYYY-MM-DD` directories of its dates, as
//! `stream --land-dir` writes them; an event under the directory of another date is an error, not a silent
//! loss. Each partition commits on its own (rename, then the metastore), so there is nothing to merge: a
//! retried pod redoes its own dates, and the fingerprints make what it had finished a no-op.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use hdfs_native::{Client, HdfsError, WriteOptions};
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use serde::Serialize;
use tracing::{info, warn};

use crate::date::Date;
use crate::events::{EventKind, StationStatus, StockTick};
use crate::hdfs::{self, HdfsLocation, HdfsOptions};
use crate::metastore::{Column, Metastore, TableInfo, TableSpec, partition_name};

/// The metastore parameter holding a partition's content fingerprint.
pub const FINGERPRINT_PARAMETER: &str = "bigdata.compact.fingerprint";
/// The one data file of each partition.
pub const PART_FILE: &str = "part-00000.parquet";
/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 1 << 20;
/// Changes whenever the bytes written for the same rows would change (schema, encoding).
const FORMAT_VERSION: &str = "compact-v1";

/// A value of one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Int(i32),
    Long(i64),
    Double(f64),
    Text(String),
    /// Milliseconds since the Unix epoch (Parquet TIMESTAMP(MILLIS, UTC); Hive `timestamp`).
    TimestampMs(i64),
}

/// The columns of a kind's table: name, Hive type, Parquet type.
struct ColumnDef {
    name: &'static str,
    hive_type: &'static str,
    parquet: &'static str,
}

const fn col(name: &'static str, hive_type: &'static str, parquet: &'static str) -> ColumnDef {
    ColumnDef {
        name,
        hive_type,
        parquet,
    }
}

const BIKE_COLUMNS: &[ColumnDef] = &[
    col("number", "int", "INT32"),
    col("contract_name", "string", "BYTE_ARRAY (STRING)"),
    col("name", "string", "BYTE_ARRAY (STRING)"),
    col("bike_stands", "int", "INT32"),
    col("available_bike_stands", "int", "INT32"),
    col("available_bikes", "int", "INT32"),
    col("status", "string", "BYTE_ARRAY (STRING)"),
    col("last_update", "bigint", "INT64"),
    col("event_time", "timestamp", "INT64 (TIMESTAMP(MILLIS,true))"),
];

const STOCK_COLUMNS: &[ColumnDef] = &[
    col("symbol", "string", "BYTE_ARRAY (STRING)"),
    col("name", "string", "BYTE_ARRAY (STRING)"),
    col("price_currency", "string", "BYTE_ARRAY (STRING)"),
    col("price_amount", "double", "DOUBLE"),
    col("percent_change", "double", "DOUBLE"),
    col("volume", "bigint", "INT64"),
    col("as_of", "bigint", "INT64"),
    col("event_time", "timestamp", "INT64 (TIMESTAMP(MILLIS,true))"),
];

fn column_defs(kind: EventKind) -> &'static [ColumnDef] {
    match kind {
        EventKind::Bikes => BIKE_COLUMNS,
        EventKind::Stocks => STOCK_COLUMNS,
    }
}

/// The table's data columns (without the partition column).
pub fn columns(kind: EventKind) -> Vec<Column> {
    column_defs(kind)
        .iter()
        .map(|c| Column::new(c.name, c.hive_type))
        .collect()
}

/// The partition column.
pub fn partition_keys() -> Vec<Column> {
    vec![Column::new("dt", "string")]
}

/// The Parquet schema of a kind's files.
pub fn parquet_schema(kind: EventKind) -> String {
    let fields: String = column_defs(kind)
        .iter()
        .map(|c| {
            let (physical, logical) = c.parquet.split_once(' ').unwrap_or((c.parquet, ""));
            format!("  REQUIRED {physical} {} {logical};\n", c.name)
        })
        .collect();
    format!("message {} {{\n{fields}}}", kind_name(kind))
}

fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Bikes => "bikes",
        EventKind::Stocks => "stocks",
    }
}

/// One event, ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub key: String,
    pub event_ms: i64,
    pub cells: Vec<Cell>,
}

/// Parses one landed line as an event of `kind` (every field required, as the generator writes them).
pub fn parse_row(kind: EventKind, line: &str) -> Result<Row, String> {
    // serde also reads a struct from a JSON array: only objects are events.
    if !line.trim_start().starts_with('{') {
        return Err("not a JSON object".into());
    }
    match kind {
        EventKind::Bikes => {
            let s: StationStatus = serde_json::from_str(line).map_err(|e| e.to_string())?;
            let int = |v: u32, field: &str| {
                i32::try_from(v)
                    .map(Cell::Int)
                    .map_err(|_| format!("{field} {v} is out of range"))
            };
            Ok(Row {
                key: s.number.to_string(),
                event_ms: s.last_update,
                cells: vec![
                    int(s.number, "number")?,
                    Cell::Text(s.contract_name),
                    Cell::Text(s.name),
                    int(s.bike_stands, "bike_stands")?,
                    int(s.available_bike_stands, "available_bike_stands")?,
                    int(s.available_bikes, "available_bikes")?,
                    Cell::Text(s.status),
                    Cell::Long(s.last_update),
                    Cell::TimestampMs(s.last_update),
                ],
            })
        }
        EventKind::Stocks => {
            let t: StockTick = serde_json::from_str(line).map_err(|e| e.to_string())?;
            let volume = i64::try_from(t.volume)
                .map_err(|_| format!("volume {} is out of range", t.volume))?;
            Ok(Row {
                key: t.symbol.clone(),
                event_ms: t.as_of,
                cells: vec![
                    Cell::Text(t.symbol),
                    Cell::Text(t.name),
                    Cell::Text(t.price.currency),
                    Cell::Double(t.price.amount),
                    Cell::Double(t.percent_change),
                    Cell::Long(volume),
                    Cell::Long(t.as_of),
                    Cell::TimestampMs(t.as_of),
                ],
            })
        }
    }
}

/// The events of the input, by date, deduplicated by (event time, key) and in that order.
#[derive(Debug, Default)]
pub struct Partitions {
    pub by_date: BTreeMap<String, BTreeMap<(i64, String), Row>>,
    pub rows: u64,
    pub duplicates: u64,
}

impl Partitions {
    pub fn add(&mut self, row: Row) {
        let date = Date::from_epoch_ms(row.event_ms).to_string();
        let rows = self.by_date.entry(date).or_default();
        match rows.entry((row.event_ms, row.key.clone())) {
            std::collections::btree_map::Entry::Occupied(_) => self.duplicates += 1,
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(row);
                self.rows += 1;
            }
        }
    }
}

/// A stable fingerprint of a partition's rows (FNV-1a, 64 bits), with the format version.
pub fn fingerprint<'a>(rows: impl IntoIterator<Item = &'a Row>) -> String {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    feed(FORMAT_VERSION.as_bytes());
    let mut count: u64 = 0;
    for row in rows {
        count += 1;
        for cell in &row.cells {
            match cell {
                Cell::Int(v) => feed(&v.to_le_bytes()),
                Cell::Long(v) | Cell::TimestampMs(v) => feed(&v.to_le_bytes()),
                Cell::Double(v) => feed(&v.to_bits().to_le_bytes()),
                Cell::Text(s) => {
                    feed(&(s.len() as u64).to_le_bytes());
                    feed(s.as_bytes());
                }
            }
        }
    }
    format!("{FORMAT_VERSION}:{count}:{hash:016x}")
}

/// Encodes rows (all of `kind`) as one Parquet file, Snappy-compressed.
pub fn encode_parquet(kind: EventKind, rows: &[&Row]) -> anyhow::Result<Vec<u8>> {
    let schema = parse_message_type(&parquet_schema(kind)).context("failed to build the schema")?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("bigdata-jobs {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut out = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut out, schema.into(), props.into())?;
    for group in rows.chunks(ROW_GROUP_ROWS) {
        let mut row_group = writer.next_row_group()?;
        let mut index = 0;
        while let Some(mut column) = row_group.next_column()? {
            let values = group.iter().map(|r| &r.cells[index]);
            match column_defs(kind)[index].parquet.split(' ').next() {
                Some("INT32") => {
                    let v: Vec<i32> = values.map(cell_i32).collect();
                    column.typed::<Int32Type>().write_batch(&v, None, None)?;
                }
                Some("INT64") => {
                    let v: Vec<i64> = values.map(cell_i64).collect();
                    column.typed::<Int64Type>().write_batch(&v, None, None)?;
                }
                Some("DOUBLE") => {
                    let v: Vec<f64> = values.map(cell_f64).collect();
                    column.typed::<DoubleType>().write_batch(&v, None, None)?;
                }
                _ => {
                    let v: Vec<ByteArray> = values.map(|c| ByteArray::from(cell_str(c))).collect();
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&v, None, None)?;
                }
            }
            column.close()?;
            index += 1;
        }
        row_group.close()?;
    }
    writer.close()?;
    Ok(out)
}

// The cells of a column all have its type (parse_row builds them from the same table of columns).
fn cell_i32(c: &Cell) -> i32 {
    match c {
        Cell::Int(v) => *v,
        other => unreachable!("an INT32 column holds {other:?}"),
    }
}

fn cell_i64(c: &Cell) -> i64 {
    match c {
        Cell::Long(v) | Cell::TimestampMs(v) => *v,
        other => unreachable!("an INT64 column holds {other:?}"),
    }
}

fn cell_f64(c: &Cell) -> f64 {
    match c {
        Cell::Double(v) => *v,
        other => unreachable!("a DOUBLE column holds {other:?}"),
    }
}

fn cell_str(c: &Cell) -> &str {
    match c {
        Cell::Text(s) => s,
        other => unreachable!("a STRING column holds {other:?}"),
    }
}

/// `db.table`, both plain identifiers, lowercased (as the metastore stores them).
pub fn parse_table_name(name: &str) -> Result<(String, String), String> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !s.starts_with(|c: char| c.is_ascii_digit())
    };
    match name.split_once('.') {
        Some((db, table)) if valid(db) && valid(table) => {
            Ok((db.to_ascii_lowercase(), table.to_ascii_lowercase()))
        }
        _ => Err(format!(
            "'{name}' is not a table name: expected DATABASE.TABLE (letters, digits and _), e.g. demo.bikes"
        )),
    }
}

/// This process's dates in a sharded run (module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DateShard {
    /// 0-based (an Indexed Job's `JOB_COMPLETION_INDEX`).
    pub index: u32,
    /// How many processes share the dates (the Job's `completions`).
    pub count: u32,
}

impl DateShard {
    /// Checks the shard settings; the errors name the flags.
    pub fn new(index: u32, count: u32) -> anyhow::Result<DateShard> {
        crate::shard::check_index(index as usize, count as usize)?;
        Ok(DateShard { index, count })
    }

    /// Whether this process compacts the partition of `date`.
    pub fn owns(&self, date: Date) -> bool {
        date.days().rem_euclid(i64::from(self.count)) == i64::from(self.index)
    }
}

/// The date of the nearest `dt=YYYY-MM-DD` directory above a landed file, if any.
pub fn landed_date(path: &str) -> Option<Date> {
    path.rsplit('/')
        .skip(1)
        .find_map(|dir| dir.strip_prefix("dt=").and_then(Date::parse))
}

/// What `compact` is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The landing directory (or one file): hdfs://... or a path on fs.defaultFS.
    pub input: String,
    /// `db.table`.
    pub table: String,
    pub kind: EventKind,
    /// Where a new table's files go; default `<database location>/<table>`.
    pub location: Option<String>,
    pub metastore_uri: String,
    pub metastore_timeout: Duration,
    pub hdfs: HdfsOptions,
    /// Set in a sharded run: only this process's dates.
    pub shard: Option<DateShard>,
}

/// What a run did.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub table: String,
    pub location: String,
    /// In a sharded run, this process's place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<DateShard>,
    /// Input files read (in a sharded run, those of this process's dates).
    pub files: u64,
    /// In a sharded run, the input files of the other processes' dates (not read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_of_other_shards: Option<u64>,
    pub lines: u64,
    pub malformed: u64,
    pub duplicates: u64,
    pub rows: u64,
    pub partitions_written: Vec<String>,
    pub partitions_unchanged: Vec<String>,
    pub bytes_written: u64,
    pub table_created: bool,
}

/// Runs the compaction (blocking; HDFS calls on a runtime of its own).
pub fn run(options: &Options) -> anyhow::Result<Summary> {
    let (database, table) = parse_table_name(&options.table).map_err(|e| anyhow!("--table {e}"))?;
    let input = HdfsLocation::parse(&options.input).context("--input")?;
    if let Some(location) = &options.location {
        HdfsLocation::parse(location).context("--location")?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    let in_client = hdfs::client(&input, &options.hdfs)?;

    let mut summary = Summary {
        table: format!("{database}.{table}"),
        shard: options.shard,
        ..Summary::default()
    };
    let partitions = runtime.block_on(read_input(&in_client, &input, options, &mut summary))?;

    let mut metastore = Metastore::connect(&options.metastore_uri, options.metastore_timeout)
        .with_context(|| {
            format!(
                "failed to reach the Hive metastore at {}",
                options.metastore_uri
            )
        })?;
    // The table's directory is made before the table: a metastore that made it itself deletes it (with
    // whatever is in it) when its create_table fails, e.g. on losing a race to another process.
    let mut make_location = |location: &str| -> anyhow::Result<()> {
        let dir = HdfsLocation::parse(location)?;
        let client = if dir.fs == input.fs {
            in_client.clone()
        } else {
            hdfs::client(&dir, &options.hdfs)?
        };
        runtime
            .block_on(hdfs::retry("mkdirs", || {
                client.mkdirs(&dir.path, 0o755, true)
            }))
            .with_context(|| format!("failed to create the table's directory {location}"))
    };
    let spec = ensure_table(
        &mut metastore,
        &database,
        &table,
        options,
        &mut make_location,
        &mut summary,
    )?;
    summary.location = spec.location.clone();
    let out = HdfsLocation::parse(&spec.location).with_context(|| {
        format!(
            "table {}.{} is at {}, which is not on HDFS",
            spec.database, spec.name, spec.location
        )
    })?;
    let out_client = if out.fs == input.fs {
        in_client
    } else {
        hdfs::client(&out, &options.hdfs)?
    };
    for (date, rows) in &partitions.by_date {
        let rows: Vec<&Row> = rows.values().collect();
        write_partition(
            &runtime,
            &out_client,
            &mut metastore,
            &spec,
            date,
            &rows,
            options.kind,
            &mut summary,
        )?;
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(summary)
}

/// Lists and reads every input file (names starting with `_` or `.` skipped), parsing its lines.
async fn read_input(
    client: &Client,
    input: &HdfsLocation,
    options: &Options,
    summary: &mut Summary,
) -> anyhow::Result<Partitions> {
    let status = hdfs::input_status(client, input, &options.hdfs).await?;
    let files = hdfs::list_input(client, input, status).await?;
    let files = match options.shard {
        None => files.into_iter().map(|(path, _, _)| (path, None)).collect(),
        Some(shard) => {
            let mine = files_of_shard(files.into_iter().map(|f| f.0), shard)?;
            summary.files_of_other_shards = Some(mine.1);
            mine.0
        }
    };
    let mut partitions = Partitions::default();
    for (path, directory_date) in &files {
        let data = read_file(client, path)
            .await
            .with_context(|| format!("failed to read {path}"))?;
        summary.files += 1;
        for (number, line) in data.split(|b| *b == b'\n').enumerate() {
            let line = String::from_utf8_lossy(line);
            if line.trim().is_empty() {
                continue;
            }
            summary.lines += 1;
            match parse_row(options.kind, line.trim()) {
                Ok(row) => {
                    if let Some(expected) = directory_date {
                        check_directory_date(&row, *expected, path, number + 1)?;
                    }
                    partitions.add(row)
                }
                Err(reason) => {
                    summary.malformed += 1;
                    if summary.malformed <= 10 {
                        warn!(file = %path, line = number + 1, reason = %reason, "skipping a malformed event");
                    }
                }
            }
        }
    }
    summary.rows = partitions.rows;
    summary.duplicates = partitions.duplicates;
    info!(
        files = summary.files,
        lines = summary.lines,
        rows = summary.rows,
        duplicates = summary.duplicates,
        malformed = summary.malformed,
        dates = partitions.by_date.len(),
        "read the input"
    );
    Ok(partitions)
}

/// An input file, with the date of its `dt=` directory in a sharded run.
type InputFile = (String, Option<Date>);

/// The files of `shard`'s dates, each with its directory's date, and how many files belong to other shards.
fn files_of_shard(
    paths: impl Iterator<Item = String>,
    shard: DateShard,
) -> anyhow::Result<(Vec<InputFile>, u64)> {
    let mut mine = Vec::new();
    let mut others = 0;
    for path in paths {
        let Some(date) = landed_date(&path) else {
            bail!(
                "{path} is not under a dt=YYYY-MM-DD directory: a sharded compact (--shards) shares the dates \
                 of the landing layout of `stream --land-dir`; run it without --shards"
            );
        };
        if shard.owns(date) {
            mine.push((path, Some(date)));
        } else {
            others += 1;
        }
    }
    Ok((mine, others))
}

/// In a sharded run an event must be under its own date's directory: its partition belongs to the
/// process that owns that date, which does not read this file.
fn check_directory_date(row: &Row, directory: Date, path: &str, line: usize) -> anyhow::Result<()> {
    let date = Date::from_epoch_ms(row.event_ms);
    if date != directory {
        bail!(
            "{path} line {line}: the event of {date} is under {}: a sharded compact (--shards) needs every \
             event under the dt= directory of its own date, as `stream --land-dir` writes them; move the file \
             or run without --shards",
            directory.dir_name()
        );
    }
    Ok(())
}

async fn read_file(client: &Client, path: &str) -> Result<Bytes, HdfsError> {
    let reader = hdfs::retry("read", || client.read(path)).await?;
    reader.read_range(0, reader.file_length()).await
}

/// The table, created (with its database) if missing; an existing one must have the kind's schema.
/// In a sharded run the table is created by index 0 (with its database: the metastore deletes the
/// directory of a database or table whose creation fails, so concurrent creations could remove what the
/// winner just made); the other processes wait this long for it.
const TABLE_WAIT: Duration = Duration::from_secs(600);

fn ensure_table(
    metastore: &mut Metastore,
    database: &str,
    table: &str,
    options: &Options,
    make_location: &mut dyn FnMut(&str) -> anyhow::Result<()>,
    summary: &mut Summary,
) -> anyhow::Result<TableSpec> {
    let mut spec = TableSpec {
        database: database.to_string(),
        name: table.to_string(),
        columns: columns(options.kind),
        partition_keys: partition_keys(),
        location: String::new(),
        comment: format!(
            "{} events compacted by bigdata-jobs compact",
            kind_name(options.kind)
        ),
    };
    let failed = |what: &str| format!("failed to {what} {database}.{table} in the metastore");
    if let Some(existing) = metastore
        .table(database, table)
        .with_context(|| failed("look up"))?
    {
        check_schema(&spec, &existing)?;
        spec.location = existing.location;
        return Ok(spec);
    }
    if let Some(shard) = options.shard.filter(|s| s.index != 0) {
        let existing = wait_for_table(metastore, database, table, shard)?;
        check_schema(&spec, &existing)?;
        spec.location = existing.location;
        return Ok(spec);
    }
    let db_location = match metastore
        .database_location(database)
        .with_context(|| failed("look up the database of"))?
    {
        Some(l) => l,
        None => {
            let created = metastore.create_database(database, "created by bigdata-jobs compact");
            // Another process of a sharded run may have created it meanwhile: the metastore then
            // refuses ours (AlreadyExists, or a MetaException from the database's unique key).
            let location = metastore
                .database_location(database)
                .with_context(|| failed("look up the database of"))?;
            match (created, location) {
                (Ok(()), location) => {
                    info!(database, "created the database");
                    location.unwrap_or_default()
                }
                (Err(_), Some(location)) => location,
                (Err(e), None) => return Err(anyhow!(e).context(failed("create the database of"))),
            }
        }
    };
    spec.location = match &options.location {
        Some(l) => l.trim_end_matches('/').to_string(),
        None if db_location.is_empty() => {
            bail!("database {database} has no location: pass --location")
        }
        None => format!("{}/{table}", db_location.trim_end_matches('/')),
    };
    if HdfsLocation::parse(&spec.location).is_err() {
        bail!(
            "table {database}.{table} would be at {}, which is not on HDFS: pass --location hdfs://.../{table}",
            spec.location
        );
    }
    make_location(&spec.location)?;
    if let Err(e) = metastore.create_table(&spec) {
        // Created meanwhile by another process of a sharded run (AlreadyExists, or a MetaException
        // from a unique key): use it if it has the schema.
        let Some(existing) = metastore
            .table(database, table)
            .with_context(|| failed("look up"))?
        else {
            return Err(anyhow!(e).context(failed("create")));
        };
        check_schema(&spec, &existing)?;
        spec.location = existing.location;
        return Ok(spec);
    }
    summary.table_created = true;
    info!(table = %format!("{database}.{table}"), location = %spec.location, "created the table");
    Ok(spec)
}

/// Waits for index 0 of a sharded run to create the table.
fn wait_for_table(
    metastore: &mut Metastore,
    database: &str,
    table: &str,
    shard: DateShard,
) -> anyhow::Result<TableInfo> {
    info!(
        table = %format!("{database}.{table}"),
        index = shard.index,
        "waiting for the process of index 0 to create the table"
    );
    let deadline = std::time::Instant::now() + TABLE_WAIT;
    loop {
        if let Some(existing) = metastore
            .table(database, table)
            .with_context(|| format!("failed to look up {database}.{table} in the metastore"))?
        {
            return Ok(existing);
        }
        if std::time::Instant::now() >= deadline {
            bail!(
                "{database}.{table} does not exist and the process of index 0 did not create it within {} s: \
                 in a sharded run (--shards) index 0 creates the table; check its logs",
                TABLE_WAIT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn check_schema(spec: &TableSpec, existing: &TableInfo) -> anyhow::Result<()> {
    let render = |cols: &[Column]| {
        cols.iter()
            .map(|c| format!("{} {}", c.name, c.hive_type))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if existing.columns != spec.columns || existing.partition_keys != spec.partition_keys {
        bail!(
            "table {}.{} exists with other columns ({} / partitioned by {}); compact writes ({} / partitioned by {}): \
             choose another --table, or check --kind",
            spec.database,
            spec.name,
            render(&existing.columns),
            render(&existing.partition_keys),
            render(&spec.columns),
            render(&spec.partition_keys),
        );
    }
    Ok(())
}

/// Writes one partition's file and registers it, unless the metastore already has these rows.
#[allow(clippy::too_many_arguments)]
fn write_partition(
    runtime: &tokio::runtime::Runtime,
    client: &Client,
    metastore: &mut Metastore,
    spec: &TableSpec,
    date: &str,
    rows: &[&Row],
    kind: EventKind,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let values = vec![date.to_string()];
    let name = partition_name(&spec.partition_keys, &values);
    let location = format!("{}/{name}", spec.location);
    let dir = HdfsLocation::parse(&location)?.path;
    let file = format!("{dir}/{PART_FILE}");
    let print = fingerprint(rows.iter().copied());
    let failed = |what: &str| {
        format!(
            "failed to {what} partition {name} of {}.{}",
            spec.database, spec.name
        )
    };
    let existing = metastore
        .partition(spec, &name)
        .with_context(|| failed("look up"))?;
    let file_exists = runtime.block_on(async {
        match client.get_file_info(&file).await {
            Ok(_) => Ok(true),
            Err(HdfsError::FileNotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    });
    let file_exists = file_exists.with_context(|| format!("failed to check {file}"))?;
    if file_exists
        && existing
            .as_ref()
            .is_some_and(|p| p.parameter(FINGERPRINT_PARAMETER) == Some(print.as_str()))
    {
        summary.partitions_unchanged.push(name);
        return Ok(());
    }
    let data = encode_parquet(kind, rows).with_context(|| failed("encode"))?;
    let size = data.len() as u64;
    runtime
        .block_on(replace_file(client, &dir, data))
        .with_context(|| format!("failed to write {file}"))?;
    let parameters = vec![
        (FINGERPRINT_PARAMETER.to_string(), print),
        ("numRows".to_string(), rows.len().to_string()),
        ("numFiles".to_string(), "1".to_string()),
        ("totalSize".to_string(), size.to_string()),
    ];
    metastore
        .put_partition(spec, &values, &location, &parameters, existing.is_some())
        .with_context(|| failed("register"))?;
    info!(partition = %name, rows = rows.len(), bytes = size, "wrote the partition");
    summary.bytes_written += size;
    summary.partitions_written.push(name);
    Ok(())
}

/// Writes `dir/part-00000.parquet` through a hidden temporary file renamed over it.
async fn replace_file(client: &Client, dir: &str, data: Vec<u8>) -> Result<(), HdfsError> {
    let tmp = format!("{dir}/.{PART_FILE}.tmp");
    hdfs::retry("mkdirs", || client.mkdirs(dir, 0o755, true)).await?;
    let mut writer = client
        .create(&tmp, WriteOptions::default().overwrite(true))
        .await?;
    writer.write_bytes(Bytes::from(data)).await?;
    writer.close().await?;
    let target = format!("{dir}/{PART_FILE}");
    hdfs::retry("rename", || client.rename(&tmp, &target, true)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Generator;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::RowAccessor;

    fn partitions(kind: EventKind, lines: &[String]) -> Partitions {
        let mut p = Partitions::default();
        for l in lines {
            p.add(parse_row(kind, l).unwrap());
        }
        p
    }

    fn generated(kind: EventKind, n: usize, start_ms: i64, step_ms: i64) -> Vec<String> {
        let mut g = Generator::new(kind, 9, 20, start_ms, step_ms);
        (0..n).map(|_| g.next_json()).collect()
    }

    #[test]
    fn events_are_split_by_utc_date_and_deduplicated() {
        // 1_700_006_400_000 is 2023-11-15T00:00:00Z: the first 60 events fall on the 14th.
        let mut lines = generated(EventKind::Bikes, 100, 1_700_006_400_000 - 60_000, 1000);
        lines.extend(lines[..30].to_vec());
        let p = partitions(EventKind::Bikes, &lines);
        assert_eq!(p.rows, 100);
        assert_eq!(p.duplicates, 30);
        let sizes: Vec<(&str, usize)> = p
            .by_date
            .iter()
            .map(|(d, r)| (d.as_str(), r.len()))
            .collect();
        assert_eq!(sizes, vec![("2023-11-14", 60), ("2023-11-15", 40)]);
    }

    #[test]
    fn the_fingerprint_follows_the_rows_not_their_input_order() {
        let lines = generated(EventKind::Stocks, 50, 1_700_000_000_000, 10);
        let mut reversed = lines.clone();
        reversed.reverse();
        let a = partitions(EventKind::Stocks, &lines);
        let b = partitions(EventKind::Stocks, &reversed);
        let print = |p: &Partitions| fingerprint(p.by_date.values().flat_map(|r| r.values()));
        assert_eq!(print(&a), print(&b));
        let fewer = partitions(EventKind::Stocks, &lines[1..]);
        assert_ne!(print(&a), print(&fewer));
        assert!(print(&a).starts_with("compact-v1:50:"));
    }

    #[test]
    fn bad_lines_say_why() {
        assert!(
            parse_row(EventKind::Bikes, "{")
                .unwrap_err()
                .contains("EOF")
        );
        let missing = parse_row(EventKind::Bikes, r#"{"number":1}"#).unwrap_err();
        assert!(missing.contains("missing field"), "{missing}");
        assert_eq!(
            parse_row(EventKind::Bikes, r#"[1,"lyon","S",10,5,5,"OPEN",0]"#).unwrap_err(),
            "not a JSON object"
        );
        let stock = generated(EventKind::Stocks, 1, 0, 1).remove(0);
        assert!(parse_row(EventKind::Bikes, &stock).is_err());
    }

    #[test]
    fn the_parquet_file_reads_back_with_its_schema() {
        let lines = generated(EventKind::Bikes, 10, 1_700_000_000_000, 1000);
        let p = partitions(EventKind::Bikes, &lines);
        let rows: Vec<&Row> = p.by_date.values().flat_map(|r| r.values()).collect();
        let data = encode_parquet(EventKind::Bikes, &rows).unwrap();
        let reader = SerializedFileReader::new(Bytes::from(data)).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 10);
        let names: Vec<String> = reader
            .metadata()
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        let expected: Vec<String> = columns(EventKind::Bikes)
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, expected);
        let first: StationStatus = serde_json::from_str(&lines[0]).unwrap();
        let row = reader.get_row_iter(None).unwrap().next().unwrap().unwrap();
        assert_eq!(row.get_int(0).unwrap() as u32, first.number);
        assert_eq!(row.get_string(2).unwrap(), &first.name);
        assert_eq!(row.get_long(7).unwrap(), first.last_update);
        assert_eq!(row.get_timestamp_millis(8).unwrap(), first.last_update);
    }

    #[test]
    fn table_names() {
        assert_eq!(
            parse_table_name("Demo.Bikes"),
            Ok(("demo".into(), "bikes".into()))
        );
        for bad in ["bikes", "demo.", ".bikes", "demo.bi-kes", "1db.t", "a.b.c"] {
            assert!(
                parse_table_name(bad)
                    .unwrap_err()
                    .contains("DATABASE.TABLE"),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_date_has_one_owner_and_consecutive_days_go_round_robin() {
        let start = Date::parse("2023-12-30").unwrap().days();
        for count in 1..=5 {
            let shards: Vec<_> = (0..count)
                .map(|i| DateShard::new(i, count).unwrap())
                .collect();
            for day in start..start + 20 {
                let date = Date::from_days(day);
                let owners: Vec<_> = shards.iter().filter(|s| s.owns(date)).collect();
                assert_eq!(owners.len(), 1, "{date} with {count} shards");
                let next = Date::from_days(day + 1);
                assert!(
                    shards[((owners[0].index + 1) % count) as usize].owns(next),
                    "{next} goes to the next shard"
                );
            }
        }
        assert!(
            DateShard::new(3, 3)
                .unwrap_err()
                .to_string()
                .contains("--shard-index 3")
        );
        assert!(
            DateShard::new(0, 0)
                .unwrap_err()
                .to_string()
                .contains("--shards")
        );
    }

    #[test]
    fn files_are_shared_by_their_dt_directory() {
        assert_eq!(
            landed_date("/l/dt=2023-11-15/part-p0-o0.jsonl"),
            Date::parse("2023-11-15")
        );
        assert_eq!(
            landed_date("/l/dt=2023-11-15/late/x.jsonl"),
            Date::parse("2023-11-15")
        );
        assert_eq!(landed_date("/l/dt=2023-11-15"), None, "a file named dt=");
        assert_eq!(landed_date("/l/dt=yesterday/x.jsonl"), None);
        let paths = [
            "/l/dt=2023-11-14/a.jsonl",
            "/l/dt=2023-11-15/a.jsonl",
            "/l/dt=2023-11-15/b.jsonl",
        ];
        let of = |index| {
            files_of_shard(
                paths.iter().map(|p| p.to_string()),
                DateShard::new(index, 2).unwrap(),
            )
            .unwrap()
        };
        let (a, b) = (of(0), of(1));
        assert_eq!(a.0.len() + b.0.len(), 3);
        assert_eq!((a.1, b.1), (b.0.len() as u64, a.0.len() as u64));
        let err = files_of_shard(
            ["/l/loose.jsonl".to_string()].into_iter(),
            DateShard::new(0, 2).unwrap(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("not under a dt=YYYY-MM-DD directory"),
            "{err}"
        );
    }
}
