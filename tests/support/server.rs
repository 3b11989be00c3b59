//! A real `cityfix serve` process for the tests that need one: started on a
//! free port without the classifier, stopped when the test ends however it ends.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a server on `data_dir`, on the embedded store or, with a
/// `database_url`, on PostgreSQL.
pub fn start_server(database_url: Option<&str>, data_dir: &Path) -> Server {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_cityfix"));
    if let Some(url) = database_url {
        command.arg("--database-url").arg(url);
    }
    let child = command
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--no-classifier", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

/// Waits until the server answers `/healthz`; fails when it exits or takes a minute.
pub async fn wait_until_up(client: &reqwest::Client, server: &mut Server) {
    let started = Instant::now();
    loop {
        if let Ok(answer) = client.get(format!("{}/healthz", server.base)).send().await
            && answer.status().is_success()
        {
            return;
        }
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("the server exited early: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
