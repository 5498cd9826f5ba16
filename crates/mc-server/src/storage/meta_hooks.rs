//! What the meta commands do to an item they hold a handle to: mark it (won/stale), change its
//! expiry, create it on a miss, invalidate it.

use super::*;

impl Store {
    /// The chunk behind a handle, if its item is still the one the handle was made for.
    fn resolve(&self, handle: ItemHandle) -> Option<u32> {
        let chunk = self.slabs.chunk(handle.id);
        (chunk.state() & LINKED != 0 && chunk.cas() == handle.serial).then_some(handle.id)
    }

    /// The item behind a handle; `None` when it has gone or been replaced since.
    pub fn item(&self, handle: ItemHandle) -> Option<Item<'_>> {
        self.resolve(handle).map(|id| self.item_at(id))
    }

    /// Set meta state bits ([`TOKEN_SENT`], [`STALE`]) on the item behind a handle; false when
    /// it has gone.
    pub fn mark(&mut self, handle: ItemHandle, bits: u8) -> bool {
        let Some(id) = self.resolve(handle) else {
            return false;
        };
        self.mark_id(id, bits);
        true
    }

    pub(super) fn mark_id(&mut self, id: u32, bits: u8) {
        let chunk = self.slabs.chunk_mut(id);
        let state = chunk.state();
        chunk.set_state(state | bits);
    }

    /// Set the expiry (server time) of the item behind a handle; false when it has gone.
    pub fn set_exptime(&mut self, handle: ItemHandle, exptime: u32) -> bool {
        let Some(id) = self.resolve(handle) else {
            return false;
        };
        self.slabs.chunk_mut(id).set_exptime(exptime);
        true
    }

    /// Create an empty item for a key that is absent (meta get's vivify on miss).
    pub fn vivify(&mut self, key: &[u8], exptime: u32, now: u32) -> Option<ItemHandle> {
        let (id, _) = self.link_new(key, 0, exptime, &[], now).ok()?;
        Some(self.item_at(id).handle())
    }

    /// Mark an item stale instead of deleting it (`md I`): it keeps being served, flagged `X`,
    /// with a new CAS unique, until a client recaches it.
    pub fn invalidate(
        &mut self,
        key: &[u8],
        cas: Option<u64>,
        exptime: Option<u32>,
        now: u32,
    ) -> DeleteStatus {
        let Some((_, id)) = self.lookup(key, now) else {
            self.written.stats.delete_misses += 1;
            return DeleteStatus::NotFound;
        };
        if cas.is_some_and(|c| c != self.visible_cas(self.slabs.chunk(id))) {
            self.written.stats.delete_misses += 1;
            return DeleteStatus::Exists;
        }
        let new_cas = self.next_cas();
        let chunk = self.slabs.chunk_mut(id);
        if let Some(exptime) = exptime {
            chunk.set_exptime(exptime);
        }
        let state = chunk.state();
        chunk.set_state((state | STALE) & !TOKEN_SENT);
        chunk.set_cas(new_cas);
        DeleteStatus::Deleted
    }
}
