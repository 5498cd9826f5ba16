//! Operations on many keys: the keys are grouped by server up front, each server gets one
//! pipelined batch, and all servers are served at once. A server that is dead, unreachable or
//! failing costs only its own keys: they are reported one by one, and the other servers'
//! answers still come back.

use std::collections::{BTreeMap, HashMap};

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use bytes::{Bytes, BytesMut};
use mc_proto::{check_key, Delete, Get, GetCommand, Request, Response, StoreCommand, StoreRequest};

use crate::client::Client;
use crate::client_error::{Error, Result};
use crate::found_values::FoundValues;
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

/// What one server answered to a multi-key read: its values, and for each the position in
/// the caller's list of the key it answers (two lists, so the values are not moved again).
struct Found {
    values: FoundValues,
    positions: Vec<usize>,
}

/// Keys grouped by the server they go to, as positions in the caller's list.
type Routes = BTreeMap<usize, Vec<usize>>;

impl Client {
    /// Check every key and group their positions by server. A key with no live server is
    /// reported (with its position), not fatal; an invalid key is an error for the whole call
    /// (nothing was sent).
    fn route_keys(&self, keys: &[&str]) -> Result<(Routes, Vec<(usize, Error)>)> {
        let prefix = self.inner.options.key_prefix.as_bytes();
        let servers = self.inner.nodes.len().max(1);
        let mut routes = Routes::new();
        let mut unroutable = Vec::new();
        let mut full = Vec::with_capacity(prefix.len() + 64);
        for (i, key) in keys.iter().enumerate() {
            full.clear();
            full.extend_from_slice(prefix);
            full.extend_from_slice(key.as_bytes());
            check_key(&full, self.inner.options.max_key_length)?;
            match self.pick(&full) {
                Ok(index) => routes
                    .entry(index)
                    // Room for this server's expected share: one call naming N keys over S
                    // servers reserves about N, not S × N.
                    .or_insert_with(|| Vec::with_capacity(keys.len().div_ceil(servers)))
                    .push(i),
                Err(e) => unroutable.push((i, e)),
            }
        }
        Ok((routes, unroutable))
    }

    /// Send `requests` (one per key of `keys`, in order) to server `index` as one pipelined
    /// batch; the answer for each key, or its error.
    async fn batch(
        &self,
        index: usize,
        requests: Vec<(BytesMut, Expect)>,
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
        let (by_server, unroutable) = self.route_keys(keys)?;
        let mut failed: Vec<(String, Error)> = unroutable
            .into_iter()
            .map(|(i, e)| (keys[i].to_string(), e))
            .collect();
        // One request per server, all in flight at once from this task.
        let reads = by_server
            .iter()
            .map(|(&index, asked)| self.read_from(index, keys, asked));
        let answers = join_all(reads.collect()).await;
        let mut found = HashMap::with_capacity(keys.len());
        for (asked, answer) in by_server.values().zip(answers) {
            let found_here = match answer {
                Ok(found_here) => found_here,
                Err(e) => {
                    failed.extend(
                        asked
                            .iter()
                            .map(|&i| (keys[i].to_string(), e.for_each_key())),
                    );
                    continue;
                }
            };
            for (i, v) in found_here
                .positions
                .into_iter()
                .zip(found_here.values.iter())
            {
                let raw = Raw {
                    flags: v.flags(),
                    data: v.data(),
                };
                match decompress(raw, self.inner.options.max_value_length).and_then(T::from_value) {
                    Ok(value) => {
                        found.insert(keys[i].to_string(), value);
                    }
                    Err(e) => failed.push((keys[i].to_string(), e)),
                }
            }
        }
        failed.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(MultiGet { found, failed })
    }

    /// Read `keys[i]` for every `i` of `asked` from server `index` in one `get`; each value
    /// comes back with the position of the key it answers.
    async fn read_from(&self, index: usize, keys: &[&str], asked: &[usize]) -> Result<Found> {
        let prefix = self.inner.options.key_prefix.as_bytes();
        let len: usize = asked
            .iter()
            .map(|&i| 1 + prefix.len() + keys[i].len())
            .sum();
        let mut wire = BytesMut::with_capacity(len + 8);
        let asked_keys = asked.iter().map(|&i| keys[i].as_bytes());
        Get::encode_keys(GetCommand::Get, 0, prefix, asked_keys, &mut wire);
        let conn = self.connect(index).await?;
        let expected = u32::try_from(asked.len()).unwrap_or(u32::MAX);
        let answer = self
            .send_wire(index, conn, &wire, Expect::Values(expected))
            .await?;
        let values = values(answer.reply)?;
        let mut positions = Vec::with_capacity(values.len());
        let mut matcher = Matcher::new(prefix, keys, asked);
        for v in values.iter() {
            let Some(i) = matcher.position(v.key()) else {
                // The connection that sent a value nobody asked for is out of step.
                answer.conn.close();
                return Err(Error::Protocol(format!(
                    "got a value for {:?}, which was not asked for",
                    String::from_utf8_lossy(v.key())
                )));
            };
            positions.push(i);
        }
        Ok(Found { values, positions })
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
        let (routes, unroutable) = self.route_keys(&keys)?;
        let mut failed: Vec<usize> = unroutable.into_iter().map(|(i, _)| i).collect();
        let mut sent = Vec::with_capacity(routes.len());
        let mut batches = Vec::with_capacity(routes.len());
        for (&index, asked) in &routes {
            let mut requests = Vec::with_capacity(asked.len());
            let mut keys_sent = Vec::with_capacity(asked.len());
            for &i in asked {
                // A value that cannot be encoded (too large...) is not stored.
                let Ok(raw) = self.encode_value(&values[i].1) else {
                    failed.push(i);
                    continue;
                };
                let request = Request::Store(StoreRequest {
                    command: StoreCommand::Set,
                    key: Bytes::from(self.full_key(keys[i])?),
                    flags: raw.flags,
                    exptime: exptime.0,
                    cas: 0,
                    data: raw.data,
                    noreply: false,
                });
                requests.push((encoded(&request), Expect::Line));
                keys_sent.push(i);
            }
            sent.push(keys_sent);
            batches.push(self.batch(index, requests));
        }
        for (keys_sent, result) in sent.into_iter().zip(join_all(batches).await) {
            match result {
                Ok(answers) => {
                    for (i, answer) in keys_sent.into_iter().zip(answers) {
                        let stored = answer
                            .and_then(|reply| status_bool(reply, &Response::Stored))
                            .unwrap_or(false);
                        if !stored {
                            failed.push(i);
                        }
                    }
                }
                Err(_) => failed.extend(keys_sent),
            }
        }
        let mut failed: Vec<String> = failed.into_iter().map(|i| keys[i].to_string()).collect();
        failed.sort();
        Ok(failed)
    }

    /// Delete many keys: one pipelined batch per server, all at once. True when every key's
    /// server answered (missing keys are not failures), as python-memcached's `delete_multi`.
    pub async fn delete_multi(&self, keys: &[&str]) -> Result<bool> {
        let (routes, unroutable) = self.route_keys(keys)?;
        let mut batches = Vec::with_capacity(routes.len());
        for (&index, asked) in &routes {
            let mut requests = Vec::with_capacity(asked.len());
            for &i in asked {
                let request = Request::Delete(Delete {
                    key: Bytes::from(self.full_key(keys[i])?),
                    noreply: false,
                });
                requests.push((encoded(&request), Expect::Line));
            }
            batches.push(self.batch(index, requests));
        }
        let mut all = unroutable.is_empty();
        for result in join_all(batches).await {
            all &= result.is_ok_and(|answers| {
                answers.into_iter().all(|a| {
                    a.and_then(|reply| status_bool(reply, &Response::Deleted))
                        .is_ok()
                })
            });
        }
        Ok(all)
    }
}

/// Matches the values of a multi-key `get` to the keys asked, in time linear in both: a
/// server answers in the order it was asked (skipping misses), so the search resumes after
/// the last match; an answer out of that order falls back to a map of every key asked.
struct Matcher<'a> {
    prefix: &'a [u8],
    keys: &'a [&'a str],
    asked: &'a [usize],
    /// Where in `asked` the next value is looked for first.
    next: usize,
    /// Which positions of `asked` have been answered.
    taken: Vec<bool>,
    /// Every key asked (without the prefix) to its positions, built on the first value out of
    /// order; each position is used once.
    fallback: Option<HashMap<&'a [u8], Vec<usize>>>,
}

impl<'a> Matcher<'a> {
    fn new(prefix: &'a [u8], keys: &'a [&'a str], asked: &'a [usize]) -> Matcher<'a> {
        Matcher {
            prefix,
            keys,
            asked,
            next: 0,
            taken: vec![false; asked.len()],
            fallback: None,
        }
    }

    /// The position in `keys` of the key `full` answers, or `None` when it was not asked for
    /// (or was already answered as often as it was asked).
    fn position(&mut self, full: &[u8]) -> Option<usize> {
        let key = full.strip_prefix(self.prefix)?;
        if self.fallback.is_none() {
            let ahead = &self.asked[self.next..];
            if let Some(k) = ahead.iter().position(|&i| self.keys[i].as_bytes() == key) {
                self.next += k + 1;
                self.taken[self.next - 1] = true;
                return Some(self.asked[self.next - 1]);
            }
            // Out of order: every key not yet answered goes into the map.
            let mut map: HashMap<&[u8], Vec<usize>> = HashMap::new();
            for (&i, _) in self.asked.iter().zip(&self.taken).filter(|(_, &t)| !t) {
                map.entry(self.keys[i].as_bytes()).or_default().push(i);
            }
            self.fallback = Some(map);
        }
        self.fallback.as_mut()?.get_mut(key)?.pop()
    }
}

/// A request's wire form, in a buffer of its own.
fn encoded(request: &Request) -> BytesMut {
    let mut wire = BytesMut::new();
    request.encode(&mut wire);
    wire
}

/// Drive every future to completion concurrently within the calling task; the outputs come
/// in the order of the futures.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [&str; 5] = ["a", "b", "c", "b", "d"];

    fn answer(asked: &[usize], answers: &[&str]) -> Vec<Option<usize>> {
        let mut matcher = Matcher::new(b"p:", &KEYS, asked);
        answers
            .iter()
            .map(|k| matcher.position(format!("p:{k}").as_bytes()))
            .collect()
    }

    #[test]
    fn values_in_request_order_with_misses_match_in_one_pass() {
        let asked = [0, 1, 2, 3, 4];
        assert_eq!(
            answer(&asked, &["a", "c", "b", "d"]),
            [Some(0), Some(2), Some(3), Some(4)]
        );
        // A key asked twice is answered twice.
        assert_eq!(answer(&asked, &["b", "b"]), [Some(1), Some(3)]);
    }

    #[test]
    fn values_out_of_order_still_match_each_key_once() {
        let asked = [0, 1, 2, 4];
        assert_eq!(
            answer(&asked, &["c", "a", "d", "b"]),
            [Some(2), Some(0), Some(4), Some(1)]
        );
        assert_eq!(answer(&asked, &["c", "c"]), [Some(2), None]);
        assert_eq!(answer(&asked, &["d", "a", "d"]), [Some(4), Some(0), None]);
    }

    #[test]
    fn values_nobody_asked_for_are_refused() {
        let asked = [0, 2];
        assert_eq!(answer(&asked, &["b"]), [None]);
        let mut matcher = Matcher::new(b"p:", &KEYS, &asked);
        assert_eq!(
            matcher.position(b"a"),
            None,
            "the prefix is part of the key"
        );
    }
}
