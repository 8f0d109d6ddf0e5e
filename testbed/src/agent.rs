//! The run's agent: one `python3 agent.py` in the switch namespace that probes from any of the
//! run's namespaces (each socket made inside its namespace with `setns(2)`), so that a probe
//! round, a path-MTU search or a pod's TCP receiver costs no interpreter start per namespace.
//! Requests are JSON lines, answered by id; several may run at once (one thread each in the
//! agent). With `--verbose` each request is printed (`+ agent probe …`) and the agent prints
//! the commands it runs (the pings of the MTU proof).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use serde_json::Value;

use crate::cmd::{trace, verbose};

type Waiting = Arc<Mutex<(bool, HashMap<u64, mpsc::Sender<Result<Value, String>>>)>>;

/// A running agent; killed on drop.
pub(crate) struct Agent {
    child: Child,
    stdin: Mutex<ChildStdin>,
    /// (the agent is gone, the callers waiting for an answer by request id)
    waiting: Waiting,
    next: AtomicU64,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Agent {
    /// Starts `python3 <script>` in namespace `ns`; does not wait for it to be ready (the first
    /// request waits in its pipe).
    pub(crate) fn start(ns: &str, script: &Path) -> Result<Agent, String> {
        let flag = if verbose() { "1" } else { "0" };
        let script_s = script.display().to_string();
        trace("ip", &["netns", "exec", ns, "python3", &script_s, flag]);
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "python3"])
            .arg(script)
            .arg(flag)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("the probe agent: {e}"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the probe agent has no pipes".into());
        };
        let waiting: Waiting = Arc::new(Mutex::new((false, HashMap::new())));
        let w = Arc::clone(&waiting);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                let Some(id) = v["id"].as_u64() else {
                    continue; // "ready"
                };
                let answer = match v.get("err") {
                    Some(e) => Err(e.as_str().unwrap_or_default().to_owned()),
                    None => Ok(v["ok"].clone()),
                };
                if let Ok(mut g) = w.lock()
                    && let Some(tx) = g.1.remove(&id)
                {
                    let _ = tx.send(answer);
                }
            }
            // gone: every caller still waiting gets an error (its sender dropped)
            if let Ok(mut g) = w.lock() {
                g.0 = true;
                g.1.clear();
            }
        });
        Ok(Agent {
            child,
            stdin: Mutex::new(stdin),
            waiting,
            next: AtomicU64::new(1),
            reader: Some(reader),
        })
    }

    /// Sends `{"op": op, ...fields}` and waits for its answer. `what` is the request as
    /// printed with `--verbose`.
    pub(crate) fn call(&self, op: &str, fields: Value, what: &[&str]) -> Result<Value, String> {
        let mut args = vec![op];
        args.extend_from_slice(what);
        trace("agent", &args);
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let mut req = match fields {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        req.insert("id".into(), id.into());
        req.insert("op".into(), op.into());
        let (tx, rx) = mpsc::channel();
        {
            let mut g = self.waiting.lock().map_err(|_| "the probe agent's lock")?;
            if g.0 {
                return Err("the probe agent exited".into());
            }
            g.1.insert(id, tx);
        }
        let line = format!("{}\n", Value::Object(req));
        {
            let mut stdin = self.stdin.lock().map_err(|_| "the probe agent's lock")?;
            stdin
                .write_all(line.as_bytes())
                .and_then(|()| stdin.flush())
                .map_err(|e| format!("the probe agent: {e}"))?;
        }
        match rx.recv() {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(format!("the probe agent ({op}): {e}")),
            Err(_) => Err("the probe agent exited".into()),
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}
