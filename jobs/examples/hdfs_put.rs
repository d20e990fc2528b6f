//! Copies standard input to an HDFS file, e.g. to load a wordcount input:
//!
//!     cargo run --release -p bigdata-jobs --example hdfs_put -- hdfs://127.0.0.1:19820/data/in.txt [BLOCK_SIZE] < in.txt
//!
//! The file is replaced if it exists; parent directories are created. HADOOP_CONF_DIR is honoured (HA).
use std::io::Read;

use anyhow::Context;
use bigdata_jobs::hdfs::{self, HdfsLocation, HdfsOptions};
use bytes::Bytes;
use hdfs_native::WriteOptions;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let target = args
        .next()
        .context("usage: hdfs_put hdfs://.../file [BLOCK_SIZE] < data")?;
    let location = HdfsLocation::parse(&target)?;
    let client = hdfs::client(&location, &HdfsOptions::default())?;
    let mut options = WriteOptions::default().overwrite(true).create_parent(true);
    if let Some(block) = args.next() {
        options = options.block_size(
            block
                .parse()
                .context("BLOCK_SIZE must be a number of bytes")?,
        );
    }
    let mut writer = client.create(&location.path, options).await?;
    let mut stdin = std::io::stdin().lock();
    let mut total = 0u64;
    loop {
        let mut buf = vec![0u8; 4 << 20];
        let n = stdin.read(&mut buf)?;
        if n == 0 {
            break;
        }
        buf.truncate(n);
        total += n as u64;
        writer.write_bytes(Bytes::from(buf)).await?;
    }
    writer.close().await?;
    eprintln!("wrote {total} bytes to {}", location.display());
    Ok(())
}
