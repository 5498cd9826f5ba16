//! A blocking facade over the async client, for scripts, examples and non-async code.
//!
//! It owns a single-threaded tokio runtime; each call drives it until the answer is in.

use std::collections::HashMap;

use mc_proto::{Request, Response};

use crate::address::ServerSpec;
use crate::batch::MultiGet;
use crate::client::Client as AsyncClient;
use crate::client_error::Result;
use crate::options::{Expiry, Fetched, Options};
use crate::pipeline::closes_so_far;
use crate::value::{FromValue, ToValue};

/// The blocking client. Same operations as [`crate::Client`], returning when done.
#[derive(Debug)]
pub struct Client {
    client: AsyncClient,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    /// A client for `servers` with python-memcached's defaults.
    pub fn new<I, S>(servers: I) -> std::io::Result<Client>
    where
        I: IntoIterator<Item = S>,
        S: Into<ServerSpec>,
    {
        Client::with_options(servers, Options::default())
    }

    /// A client with explicit options.
    pub fn with_options<I, S>(servers: I, options: Options) -> std::io::Result<Client>
    where
        I: IntoIterator<Item = S>,
        S: Into<ServerSpec>,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Client {
            client: AsyncClient::with_options(servers, options),
            runtime,
        })
    }

    /// Drive the runtime until `call` is done. When a connection was dropped meanwhile (a
    /// failure, a timeout, a lying server, a disconnect — also inside a call that succeeds,
    /// such as a `get_multi` one of whose servers failed), it runs once more, so that the
    /// dropped connection's tasks end and its socket closes now instead of at the next call,
    /// which may never come.
    fn run<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        let closes = closes_so_far();
        let result = self.runtime.block_on(call);
        if closes_so_far() != closes {
            self.runtime.block_on(tokio::task::yield_now());
        }
        result
    }

    /// The async client underneath.
    pub fn as_async(&self) -> &AsyncClient {
        &self.client
    }

    /// See [`crate::Client::set`].
    pub fn set(
        &self,
        key: &str,
        value: &(impl ToValue + ?Sized),
        exptime: impl Into<Expiry>,
    ) -> Result<bool> {
        self.run(self.client.set(key, value, exptime))
    }

    /// See [`crate::Client::add`].
    pub fn add(
        &self,
        key: &str,
        value: &(impl ToValue + ?Sized),
        exptime: impl Into<Expiry>,
    ) -> Result<bool> {
        self.run(self.client.add(key, value, exptime))
    }

    /// See [`crate::Client::replace`].
    pub fn replace(
        &self,
        key: &str,
        value: &(impl ToValue + ?Sized),
        exptime: impl Into<Expiry>,
    ) -> Result<bool> {
        self.run(self.client.replace(key, value, exptime))
    }

    /// See [`crate::Client::append`].
    pub fn append(&self, key: &str, value: &(impl ToValue + ?Sized)) -> Result<bool> {
        self.run(self.client.append(key, value))
    }

    /// See [`crate::Client::prepend`].
    pub fn prepend(&self, key: &str, value: &(impl ToValue + ?Sized)) -> Result<bool> {
        self.run(self.client.prepend(key, value))
    }

    /// See [`crate::Client::cas`].
    pub fn cas(
        &self,
        key: &str,
        value: &(impl ToValue + ?Sized),
        exptime: impl Into<Expiry>,
    ) -> Result<bool> {
        self.run(self.client.cas(key, value, exptime))
    }

    /// See [`crate::Client::cas_unique`].
    pub fn cas_unique(
        &self,
        key: &str,
        value: &(impl ToValue + ?Sized),
        unique: u64,
        exptime: impl Into<Expiry>,
    ) -> Result<bool> {
        self.run(self.client.cas_unique(key, value, unique, exptime))
    }

    /// See [`crate::Client::get`].
    pub fn get<T: FromValue>(&self, key: &str) -> Result<Option<T>> {
        self.run(self.client.get(key))
    }

    /// See [`crate::Client::gets`].
    pub fn gets<T: FromValue>(&self, key: &str) -> Result<Option<T>> {
        self.run(self.client.gets(key))
    }

    /// See [`crate::Client::gets_unique`].
    pub fn gets_unique<T: FromValue>(&self, key: &str) -> Result<Option<(T, u64)>> {
        self.run(self.client.gets_unique(key))
    }

    /// See [`crate::Client::gat`].
    pub fn gat<T: FromValue>(&self, key: &str, exptime: impl Into<Expiry>) -> Result<Option<T>> {
        self.run(self.client.gat(key, exptime))
    }

    /// See [`crate::Client::gats_unique`].
    pub fn gats_unique<T: FromValue>(
        &self,
        key: &str,
        exptime: impl Into<Expiry>,
    ) -> Result<Option<(T, u64)>> {
        self.run(self.client.gats_unique(key, exptime))
    }

    /// See [`crate::Client::gat_meta`].
    pub fn gat_meta<T: FromValue>(
        &self,
        key: &str,
        exptime: impl Into<Expiry>,
    ) -> Result<Option<Fetched<T>>> {
        self.run(self.client.gat_meta(key, exptime))
    }

    /// See [`crate::Client::get_multi`].
    pub fn get_multi<T: FromValue>(&self, keys: &[&str]) -> Result<HashMap<String, T>> {
        self.run(self.client.get_multi(keys))
    }

    /// See [`crate::Client::get_multi_report`].
    pub fn get_multi_report<T: FromValue>(&self, keys: &[&str]) -> Result<MultiGet<T>> {
        self.run(self.client.get_multi_report(keys))
    }

    /// See [`crate::Client::set_multi`].
    pub fn set_multi<V: ToValue>(
        &self,
        values: &[(&str, V)],
        exptime: impl Into<Expiry>,
    ) -> Result<Vec<String>> {
        self.run(self.client.set_multi(values, exptime))
    }

    /// See [`crate::Client::delete`].
    pub fn delete(&self, key: &str) -> Result<bool> {
        self.run(self.client.delete(key))
    }

    /// See [`crate::Client::delete_multi`].
    pub fn delete_multi(&self, keys: &[&str]) -> Result<bool> {
        self.run(self.client.delete_multi(keys))
    }

    /// See [`crate::Client::incr`].
    pub fn incr(&self, key: &str, delta: u64) -> Result<Option<u64>> {
        self.run(self.client.incr(key, delta))
    }

    /// See [`crate::Client::decr`].
    pub fn decr(&self, key: &str, delta: u64) -> Result<Option<u64>> {
        self.run(self.client.decr(key, delta))
    }

    /// See [`crate::Client::touch`].
    pub fn touch(&self, key: &str, exptime: impl Into<Expiry>) -> Result<bool> {
        self.run(self.client.touch(key, exptime))
    }

    /// See [`crate::Client::flush_all`].
    pub fn flush_all(&self) -> Result<()> {
        self.run(self.client.flush_all())
    }

    /// See [`crate::Client::get_stats`].
    pub fn get_stats(&self) -> Result<Vec<(String, HashMap<String, String>)>> {
        self.run(self.client.get_stats())
    }

    /// See [`crate::Client::disconnect_all`].
    pub fn disconnect_all(&self) {
        self.run(self.client.disconnect_all());
    }

    /// See [`crate::Client::server_for`].
    pub fn server_for(&self, key: &str) -> Result<usize> {
        self.client.server_for(key)
    }

    /// See [`crate::Client::server_name`].
    pub fn server_name(&self, index: usize) -> Option<&str> {
        self.client.server_name(index)
    }

    /// See [`crate::Client::request_line`].
    pub fn request_line(&self, key: &str, request: &Request) -> Result<Response> {
        self.run(self.client.request_line(key, request))
    }
}
