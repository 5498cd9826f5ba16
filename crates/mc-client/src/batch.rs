//! Operations on many keys: the keys are grouped by server up front, each server gets one
//! pipelined batch, and all servers are served at once. A server that is dead, unreachable or
//! failing costs only its own keys: they are reported one by one, and the other servers'
//! answers still come back.

use std::collections::{BTreeMap, HashMap};

use bytes::{Bytes, BytesMut};
use mc_proto::{Delete, Get, GetCommand, Keys, Request, Response, StoreCommand, StoreRequest};

use crate::client::Client;
use crate::client_error::{Error, Result};
use crate::options::Expiry;
use crate::pipeline::{Expect, Reply};
use crate::replies::{status_bool, values};
use crate::value::{decompress, FromValue, Raw, ToValue};

/// What a multi-key read found, and the keys it could not read with why (their server is
/// dead, unreachable, or answered something it should not have).
#[derive(Debug)]
pub struct MultiGet<T> {
    /// The values found, by key (without the key prefix). Missing keys are absent.
    pub found: HashMap<String, T>,
    /// Keys that could not be read, each with its error.
    pub failed: Vec<(String, Error)>,
}

/// Keys grouped by the server they go to: `(key as given, full key)`.
type Groups = BTreeMap<usize, Vec<(String, Vec<u8>)>>;

impl Client {
    /// Check every key and group them by server. A key with no live server is reported, not
    /// fatal; an invalid key is an error for the whole call (nothing was sent).
    fn group(&self, keys: &[&str]) -> Result<(Groups, Vec<(String, Error)>)> {
        let mut groups = Groups::new();
        let mut unroutable = Vec::new();
        for key in keys {
            let full = self.full_key(key)?;
            match self.pick(&full) {
                Ok(index) => groups
                    .entry(index)
                    .or_default()
                    .push((key.to_string(), full)),
                Err(e) => unroutable.push((key.to_string(), e)),
            }
        }
        Ok((groups, unroutable))
    }

    /// The same failure for every key of a group.
    fn fail_all(keys: Vec<(String, Vec<u8>)>, error: &Error) -> Vec<(String, Error)> {
        keys.into_iter()
            .map(|(key, _)| (key, error.for_each_key()))
            .collect()
    }

    /// Send `requests` (one per key of `keys`, in order) to server `index` as one pipelined
    /// batch; the answer for each key, or its error.
    async fn batch(
        &self,
        index: usize,
        requests: Vec<(Bytes, Expect)>,
    ) -> Result<Vec<Result<Reply>>> {
        let conn = self.connect(index).await?;
        let node = &self.inner.nodes[index];
        let answers = conn
            .call_batch(requests, self.inner.options.io_timeout, &node.name)
            .await;
        if answers
            .iter()
            .any(|a| a.as_ref().is_err_and(Error::is_server_failure))
        {
            node.mark_dead(self.inner.options.dead_retry);
        }
        Ok(answers)
    }

    /// Read many keys: one pipelined `get` per server, all servers at once. Missing keys are
    /// absent from the map, and so are the keys of a server that failed (as python-memcached
    /// leaves them out); keys come back without the key prefix. See
    /// [`Client::get_multi_report`] for why keys are missing.
    pub async fn get_multi<T: FromValue>(&self, keys: &[&str]) -> Result<HashMap<String, T>> {
        Ok(self.get_multi_report(keys).await?.found)
    }

    /// [`Client::get_multi`], also reporting the keys that could not be read and why.
    pub async fn get_multi_report<T: FromValue>(&self, keys: &[&str]) -> Result<MultiGet<T>> {
        let (groups, mut failed) = self.group(keys)?;
        let prefix = self.inner.options.key_prefix.len();
        let mut tasks = tokio::task::JoinSet::new();
        for (index, keys) in groups {
            let client = self.clone();
            tasks.spawn(async move {
                let fulls: Vec<&Vec<u8>> = keys.iter().map(|(_, full)| full).collect();
                let request = Request::Get(Get {
                    command: GetCommand::Get,
                    exptime: 0,
                    keys: Keys::new(&fulls),
                });
                let result = async {
                    let conn = client.connect(index).await?;
                    let answer = client.send(index, conn, &request, Expect::Values).await?;
                    let found = values(answer.reply)?;
                    if let Some(stray) = found
                        .iter()
                        .find(|v| !keys.iter().any(|(_, full)| full[..] == v.key[..]))
                    {
                        // The connection that sent a value nobody asked for is out of step.
                        answer.conn.close();
                        return Err(Error::Protocol(format!(
                            "got a value for {:?}, which was not asked for",
                            stray.key
                        )));
                    }
                    Ok(found)
                }
                .await;
                (keys, result)
            });
        }
        let mut found = HashMap::new();
        while let Some(joined) = tasks.join_next().await {
            let (keys, result) = joined.map_err(|e| Error::Protocol(e.to_string()))?;
            let values = match result {
                Ok(values) => values,
                Err(e) => {
                    failed.extend(Self::fail_all(keys, &e));
                    continue;
                }
            };
            for v in values {
                let key = String::from_utf8_lossy(&v.key[prefix..]).into_owned();
                let raw = Raw {
                    flags: v.flags,
                    data: v.data,
                };
                match decompress(raw, self.inner.options.max_value_length).and_then(T::from_value) {
                    Ok(value) => {
                        found.insert(key, value);
                    }
                    Err(e) => failed.push((key, e)),
                }
            }
        }
        failed.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(MultiGet { found, failed })
    }

    /// Store many values; returns the keys that were not stored, for whatever reason
    /// (python-memcached's `set_multi` result). One pipelined batch per server, all at once.
    pub async fn set_multi<V: ToValue>(
        &self,
        values: &[(&str, V)],
        exptime: impl Into<Expiry>,
    ) -> Result<Vec<String>> {
        let exptime = exptime.into();
        let keys: Vec<&str> = values.iter().map(|(k, _)| *k).collect();
        let (groups, unroutable) = self.group(&keys)?;
        let by_key: HashMap<&str, &V> = values.iter().map(|(k, v)| (*k, v)).collect();
        let mut failed: Vec<String> = unroutable.into_iter().map(|(k, _)| k).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for (index, keys) in groups {
            let mut requests = Vec::new();
            let mut sent = Vec::new();
            for (key, full) in keys {
                let Some(value) = by_key.get(key.as_str()) else {
                    continue;
                };
                // A value that cannot be encoded (too large...) is not stored.
                let Ok(raw) = self.encode_value(*value) else {
                    failed.push(key);
                    continue;
                };
                let mut wire = BytesMut::new();
                Request::Store(StoreRequest {
                    command: StoreCommand::Set,
                    key: Bytes::from(full),
                    flags: raw.flags,
                    exptime: exptime.0,
                    cas: 0,
                    data: raw.data,
                    noreply: false,
                })
                .encode(&mut wire);
                requests.push((wire.freeze(), Expect::Line));
                sent.push(key);
            }
            let client = self.clone();
            tasks.spawn(async move { (sent, client.batch(index, requests).await) });
        }
        while let Some(joined) = tasks.join_next().await {
            let (keys, result) = joined.map_err(|e| Error::Protocol(e.to_string()))?;
            match result {
                Ok(answers) => {
                    for (key, answer) in keys.into_iter().zip(answers) {
                        let stored = answer
                            .and_then(|reply| status_bool(reply, &Response::Stored))
                            .unwrap_or(false);
                        if !stored {
                            failed.push(key);
                        }
                    }
                }
                Err(_) => failed.extend(keys),
            }
        }
        failed.sort();
        Ok(failed)
    }

    /// Delete many keys: one pipelined batch per server, all at once. True when every key's
    /// server answered (missing keys are not failures), as python-memcached's `delete_multi`.
    pub async fn delete_multi(&self, keys: &[&str]) -> Result<bool> {
        let (groups, unroutable) = self.group(keys)?;
        let mut all = unroutable.is_empty();
        let mut tasks = tokio::task::JoinSet::new();
        for (index, keys) in groups {
            let requests = keys
                .into_iter()
                .map(|(_, full)| {
                    let mut wire = BytesMut::new();
                    Request::Delete(Delete {
                        key: Bytes::from(full),
                        noreply: false,
                    })
                    .encode(&mut wire);
                    (wire.freeze(), Expect::Line)
                })
                .collect();
            let client = self.clone();
            tasks.spawn(async move { client.batch(index, requests).await });
        }
        while let Some(joined) = tasks.join_next().await {
            match joined.map_err(|e| Error::Protocol(e.to_string()))? {
                Ok(answers) => {
                    all &= answers.into_iter().all(|a| {
                        a.and_then(|reply| status_bool(reply, &Response::Deleted))
                            .is_ok()
                    });
                }
                Err(_) => all = false,
            }
        }
        Ok(all)
    }
}
