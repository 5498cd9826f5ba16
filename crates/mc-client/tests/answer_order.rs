//! Every answer reaches the call that asked for it, whoever reads it: a caller alone on its
//! connection reads its own answer, the others get theirs from the connection's reader task,
//! and a connection passes from one way to the other as concurrency comes and goes.

use std::time::Duration;

use mc_client::Client;
use mc_server::{Config, RunningServer};

const KEYS: usize = 500;
const TASKS: usize = 8;
const CALLS: usize = 3_000;

fn key(i: usize) -> String {
    format!("order:{i}")
}

/// A value that names its key, so a value handed to the wrong call shows.
fn value(i: usize) -> String {
    format!("value of order:{i}")
}

/// One task's calls: single gets, multi-key gets and sets of its own key read back, with
/// pauses of varying length between them, so that at times it is alone on the connection and
/// at times many calls are in flight. Returns what went wrong.
async fn calls(mc: Client, task: usize) -> Vec<String> {
    let mut wrong = Vec::new();
    let own = format!("own:{task}");
    for n in 0..CALLS {
        let i = (task * 7919 + n * 31) % KEYS;
        // A pause every few calls, longer for some tasks than others.
        match (task + n) % 6 {
            0 => tokio::time::sleep(Duration::from_micros(((task * 37 + n) % 300) as u64)).await,
            1 => tokio::task::yield_now().await,
            _ => {}
        }
        match n % 4 {
            0 => {
                let keys = [key(i), key((i + 1) % KEYS), key((i + 2) % KEYS)];
                let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                match mc.get_multi::<String>(&refs).await {
                    Ok(found) => {
                        for (k, v) in &found {
                            if v != &format!("value of {k}") {
                                wrong.push(format!("get_multi: {k} = {v:?}"));
                            }
                        }
                        if found.len() != 3 {
                            wrong.push(format!("get_multi: {} of 3 found", found.len()));
                        }
                    }
                    Err(e) => wrong.push(format!("get_multi: {e}")),
                }
            }
            1 => {
                let mine = format!("{own} call {n}");
                match mc.set(&own, &mine, 0).await {
                    Ok(true) => {}
                    other => wrong.push(format!("set {own}: {other:?}")),
                }
                match mc.get::<String>(&own).await {
                    Ok(Some(v)) if v == mine => {}
                    other => wrong.push(format!("get {own} after set: {other:?}")),
                }
            }
            _ => match mc.get::<String>(&key(i)).await {
                Ok(Some(v)) if v == value(i) => {}
                other => wrong.push(format!("get {}: {other:?}", key(i))),
            },
        }
    }
    wrong
}

#[test]
fn answers_reach_their_callers_as_concurrency_comes_and_goes() {
    let server = RunningServer::start(Config::ephemeral()).expect("server");
    let addr = server.local_addr().expect("addr").to_string();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let wrong: Vec<String> = runtime.block_on(async {
        let mc = Client::new([addr.as_str()]);
        for i in 0..KEYS {
            assert!(mc.set(&key(i), &value(i), 0).await.expect("stored"));
        }
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| tokio::spawn(calls(mc.clone(), t)))
            .collect();
        let mut wrong = Vec::new();
        for task in tasks {
            wrong.extend(task.await.expect("task"));
        }
        wrong
    });
    assert!(
        wrong.is_empty(),
        "{} calls went wrong, the first: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    server.shutdown();
}
