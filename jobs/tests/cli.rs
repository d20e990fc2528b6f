//! The command line without HDFS: usage errors, and a NameNode that does not answer (the error names its
//! address). These run in plain `cargo test`.
use std::net::TcpListener;
use std::process::{Command, Output};

fn wordcount(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_bigdata-jobs"))
        .arg("wordcount")
        .args(args)
        .env_remove("HADOOP_CONF_DIR")
        .env_remove("HADOOP_HOME")
        .output()
        .expect("run bigdata-jobs");
    eprintln!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    out
}

/// A port on 127.0.0.1 where nothing listens.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn unreachable_namenode_is_named_in_the_error() {
    let port = closed_port();
    let url = format!("hdfs://127.0.0.1:{port}");
    let out = wordcount(&[
        "--input",
        &format!("{url}/in"),
        "--output",
        &format!("{url}/out"),
        "--connect-timeout",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot reach HDFS at {url}/in (NameNode 127.0.0.1:{port})"
        )),
        "{stderr}"
    );
}

#[test]
fn unreachable_nameservice_names_its_namenodes() {
    let (p1, p2) = (closed_port(), closed_port());
    let out = wordcount(&[
        "--input",
        "hdfs://gone/in",
        "--output",
        "hdfs://gone/out",
        "--hdfs-conf",
        "dfs.ha.namenodes.gone=nn1,nn2",
        "--hdfs-conf",
        &format!(
            "dfs.namenode.rpc-address.gone.nn1=127.0.0.1:{p1};dfs.namenode.rpc-address.gone.nn2=127.0.0.1:{p2}"
        ),
        "--connect-timeout",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "nameservice gone: NameNodes 127.0.0.1:{p1}, 127.0.0.1:{p2}"
        )),
        "{stderr}"
    );
}

#[test]
fn bad_locations_are_refused_before_connecting() {
    let out = wordcount(&["--input", "s3a://bucket/in", "--output", "hdfs://h:1/out"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported scheme s3a://"));

    let out = wordcount(&[
        "--input",
        "hdfs://h:1/data",
        "--output",
        "hdfs://h:1/data/out",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("overlap"));

    let out = wordcount(&["--input", "/in", "--output", "/out"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fs.defaultFS"));
}

#[test]
fn missing_flags_are_usage_errors() {
    let out = wordcount(&["--input", "hdfs://h:1/in"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--output"));
}

#[test]
fn generate_still_writes_json_lines() {
    let out = Command::new(env!("CARGO_BIN_EXE_bigdata-jobs"))
        .args(["generate", "--count", "3"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 3);
    for line in stdout.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
}

#[test]
fn sigterm_while_waiting_for_a_namenode_stops_at_once() {
    let port = closed_port();
    let url = format!("hdfs://127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_bigdata-jobs"))
        .args(["wordcount", "--input", &format!("{url}/in"), "--output"])
        .arg(format!("{url}/out"))
        .args(["--connect-timeout", "60"])
        .env_remove("HADOOP_CONF_DIR")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let started = std::time::Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
}
