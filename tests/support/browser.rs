//! The pieces of the browser test: the `cityfix` binary, a server process, and
//! headless Chromium driven over the DevTools protocol (a websocket of JSON
//! commands; only the four the test needs).

#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// How long the page may take to get where a check waits for it.
const PAGE_TIMEOUT: Duration = Duration::from_secs(90);

/// The `chromium` executable, when one is installed.
pub fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|candidate| candidate.is_file())
}

/// Runs `cityfix --data-dir DATA ARGS…` to completion; its standard output.
pub fn cityfix(data: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_cityfix"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cityfix {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `cityfix serve` process, stopped when dropped.
pub struct Server {
    pub base: String,
    child: Child,
}

impl Server {
    /// Starts the server on a free port and waits until it answers.
    pub async fn start(data: &Path) -> Self {
        let listen = format!("127.0.0.1:{}", free_port());
        let log = std::fs::File::create(data.join("serve.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_cityfix"))
            .arg("--data-dir")
            .arg(data)
            .args(["serve", "--no-classifier", "--listen", &listen])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Self {
            base: format!("http://{listen}"),
            child,
        };

        let health = format!("{}/healthz", server.base);
        for _ in 0..600 {
            if reqwest::get(&health)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "cityfix serve did not answer; see {}",
            data.join("serve.log").display()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Headless Chromium with one page, stopped when dropped.
pub struct Browser {
    child: Child,
    socket: Mutex<(Socket, u64)>,
}

impl Browser {
    /// Starts Chromium with a fresh profile under `scratch` and attaches to its page.
    pub async fn launch(chromium: &Path, scratch: &Path) -> Self {
        let profile = scratch.join("chromium-profile");
        let port = free_port();
        let child = Command::new(chromium)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--window-size=1366,900",
                &format!("--remote-debugging-port={port}"),
                &format!("--user-data-dir={}", profile.display()),
                "about:blank",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();

        let list = format!("http://127.0.0.1:{port}/json/list");
        let mut url = None;
        for _ in 0..300 {
            if let Ok(response) = reqwest::get(&list).await
                && let Ok(targets) = response.json::<Vec<Value>>().await
            {
                url = targets
                    .iter()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(str::to_owned));
                if url.is_some() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let url = url.expect("Chromium offered no page to attach to");
        let (socket, _) = connect_async(url.as_str()).await.unwrap();
        Self {
            child,
            socket: Mutex::new((socket, 0)),
        }
    }

    /// Sends one DevTools command and returns its result.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        let mut guard = self.socket.lock().await;
        let (socket, last_id) = &mut *guard;
        *last_id += 1;
        let id = *last_id;
        let command = json!({ "id": id, "method": method, "params": params });
        socket
            .send(Message::text(command.to_string()))
            .await
            .unwrap();

        while let Some(message) = socket.next().await {
            let Message::Text(text) = message.unwrap() else {
                continue;
            };
            let reply: Value = serde_json::from_str(&text).unwrap();
            if reply["id"] == id {
                assert!(reply["error"].is_null(), "{method}: {}", reply["error"]);
                return reply["result"].clone();
            }
        }
        panic!("the DevTools connection closed during {method}");
    }

    pub async fn navigate(&self, url: &str) {
        self.call("Page.navigate", json!({ "url": url })).await;
    }

    /// The value of a JavaScript expression in the page.
    pub async fn eval(&self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        assert!(
            result["exceptionDetails"].is_null(),
            "{expression}: {}",
            result["exceptionDetails"]
        );
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is true in the page.
    pub async fn wait_for(&self, expression: &str) {
        let started = std::time::Instant::now();
        let guarded = format!(
            "(() => {{ try {{ return Boolean({expression}); }} catch (e) {{ return false; }} }})()"
        );
        while started.elapsed() < PAGE_TIMEOUT {
            if self.eval(&guarded).await == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let state = self
            .eval("document.getElementById('render-state').textContent")
            .await;
        panic!("the page never reached `{expression}`; it drew {state}");
    }

    /// A PNG of the page as the window shows it.
    pub async fn screenshot(&self) -> Vec<u8> {
        let result = self
            .call("Page.captureScreenshot", json!({ "format": "png" }))
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(result["data"].as_str().unwrap())
            .unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
