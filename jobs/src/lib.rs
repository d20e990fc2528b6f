//! `bigdata-jobs`: the batch and stream jobs of the bigdata platform.

pub mod avro;
pub mod compact;
pub mod date;
pub mod decode;
pub mod duration;
pub mod events;
pub mod generate;
pub mod hdfs;
pub mod json_schema;
pub mod kafka;
pub mod land;
pub mod metastore;
pub mod metrics;
pub mod registry;
pub mod shard;
pub mod stream;
pub mod thrift;
pub mod verify;
pub mod window;
pub mod wire;
pub mod word_table;
pub mod wordcount;
