//! Which server a key goes to: python-memcached's buckets or ketama over the servers, skipping
//! the ones marked dead (python-memcached's rehash, or the next point of the continuum... as
//! each algorithm does).

use crate::address::ServerSpec;
use crate::distribution::{buckets, modula_pick, Continuum, Distribution};
use crate::node::Node;

/// The placement of keys over a client's servers.
#[derive(Debug)]
pub(crate) struct Router {
    buckets: Vec<usize>,
    continuum: Option<Continuum>,
    /// The server when there is only one: every key goes there (or nowhere while it is dead)
    /// whatever its hash, so none is computed.
    only: Option<usize>,
}

impl Router {
    pub(crate) fn new(specs: &[ServerSpec], distribution: Distribution) -> Router {
        let weights: Vec<u32> = specs.iter().map(|s| s.weight).collect();
        let continuum = (distribution == Distribution::Ketama).then(|| {
            let labeled: Vec<(String, u32)> =
                specs.iter().map(|s| (s.point_label(), s.weight)).collect();
            Continuum::with_labels(&labeled)
        });
        let buckets = buckets(&weights);
        let only = (specs.len() == 1 && !buckets.is_empty()).then_some(0);
        Router {
            buckets,
            continuum,
            only,
        }
    }

    /// The live server for a full key, or `None` when none can take it.
    pub(crate) fn pick(&self, key: &[u8], nodes: &[Node]) -> Option<usize> {
        if let Some(only) = self.only {
            return nodes[only].is_alive().then_some(only);
        }
        match &self.continuum {
            Some(continuum) => continuum.pick(key).filter(|&i| nodes[i].is_alive()),
            None => modula_pick(key, &self.buckets, |i| nodes[i].is_alive()),
        }
    }
}
