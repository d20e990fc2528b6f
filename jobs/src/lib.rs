//! `bigdata-jobs`: the batch and stream jobs of the bigdata platform.

pub mod events;
pub mod hdfs;
pub mod wordcount;
