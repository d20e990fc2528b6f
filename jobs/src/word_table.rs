//! [`WordTable`]: the hash table that counts words, built for the word count's hot loop.
//!
//! Open addressing with linear probing over slots of 32 bytes (two per cache line). A word of up to
//! [`INLINE`] bytes — nearly every word of natural text — is stored in its slot, as a little-endian `u128`
//! padded with zero bytes, so finding it costs one memory access and a compare of two integers (no
//! pointer to follow, no `memcmp` call). Longer words are stored in an arena of bytes and found by their
//! hash (a 32-bit tag in the slot), length and bytes.
//!
//! The table counts the bytes it is given: lowercasing and UTF-8 decoding are the caller's
//! ([`crate::wordcount::RangeCounter`]).

use std::hash::BuildHasher;

/// Words of up to this many bytes are stored in their slot.
pub const INLINE: usize = 16;

/// `Slot::len` of a word longer than [`INLINE`] (its bytes are in the arena).
const LONG: u32 = u32::MAX;
/// Slots of a new table.
const INITIAL_SLOTS: usize = 1 << 12;

#[derive(Clone, Copy, Default)]
struct Slot {
    /// A word of up to `INLINE` bytes: its bytes, little-endian, zero-padded. A longer word: its offset in
    /// the arena (low 64 bits) and its length (high 64 bits).
    key: u128,
    count: u64,
    /// A longer word: the low 32 bits of its hash (compared before its bytes). Unused otherwise.
    tag: u32,
    /// 0: empty; 1..=INLINE: the length of the word in `key`; `LONG`: a longer word.
    len: u32,
}

/// Word (bytes) -> count.
pub struct WordTable {
    /// A power of two of slots, at most half full.
    slots: Vec<Slot>,
    /// `64 - log2(slots.len())`: a slot index is the hash's top bits.
    shift: u32,
    len: usize,
    /// The bytes of the words longer than `INLINE`.
    arena: Vec<u8>,
    /// Seeds of the hash of inline words (random per table, like `foldhash::fast::RandomState`).
    seed: (u64, u64),
    /// The hash of longer words.
    long_hasher: foldhash::fast::RandomState,
}

impl Default for WordTable {
    fn default() -> Self {
        Self::new()
    }
}

/// The key of a word of 1..=INLINE bytes: its bytes, little-endian, zero-padded.
#[inline]
pub fn inline_key(word: &[u8]) -> u128 {
    debug_assert!(word.len() <= INLINE);
    let mut bytes = [0u8; INLINE];
    bytes[..word.len()].copy_from_slice(word);
    u128::from_le_bytes(bytes)
}

/// foldhash's mixing step: the 128-bit product of `a` and `b`, its halves xored.
#[inline]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

impl WordTable {
    pub fn new() -> Self {
        let random = foldhash::fast::RandomState::default();
        let seed = (random.hash_one(1u64) | 1, random.hash_one(2u64) | 1);
        WordTable {
            slots: vec![Slot::default(); INITIAL_SLOTS],
            shift: 64 - INITIAL_SLOTS.trailing_zeros(),
            len: 0,
            arena: Vec::new(),
            seed,
            long_hasher: random,
        }
    }

    /// The number of distinct words.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The hash of an inline word (see [`Self::add_inline_hashed`]).
    #[inline]
    pub fn hash_inline(&self, key: u128, len: usize) -> u64 {
        folded_multiply(
            (key as u64) ^ self.seed.0,
            ((key >> 64) as u64) ^ self.seed.1 ^ len as u64,
        )
    }

    fn hash_long(&self, word: &[u8]) -> u64 {
        self.long_hasher.hash_one(word)
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Adds `n` to the count of `word` (of any length but 0: the table holds no empty word).
    pub fn add(&mut self, word: &[u8], n: u64) {
        assert!(!word.is_empty(), "an empty word");
        if word.len() <= INLINE {
            self.add_inline(inline_key(word), word.len(), n);
        } else {
            self.add_long(word, n);
        }
    }

    /// Adds `n` to the count of the word of `len` (1..=INLINE) bytes whose [`inline_key`] is `key`.
    #[inline]
    pub fn add_inline(&mut self, key: u128, len: usize, n: u64) {
        self.add_inline_hashed(key, len, self.hash_inline(key, len), n);
    }

    /// Asks the CPU to load the first slot where the word of hash `h` may be into its cache. Prefetching
    /// the slots of a batch of words before [`Self::add_inline_hashed`] counts them lets their cache misses
    /// overlap (a plain load would also wait, but would hold its place in the CPU's reorder buffer, which
    /// fills after a few words).
    #[inline]
    pub fn prefetch(&self, h: u64) {
        let slot: &Slot = &self.slots[(h >> self.shift) as usize];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is a hint: it reads no value, never faults and changes no memory (here it is
        // given a valid reference anyway). The intrinsic is `unsafe` only for its `#[target_feature]`, SSE,
        // which every x86_64 CPU has.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(slot).cast());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }

    /// [`Self::add_inline`] with the word's hash `h` from [`Self::hash_inline`].
    #[inline]
    pub fn add_inline_hashed(&mut self, key: u128, len: usize, h: u64, n: u64) {
        debug_assert!((1..=INLINE).contains(&len) && (len == INLINE || key >> (8 * len) == 0));
        debug_assert_eq!(h, self.hash_inline(key, len));
        match self.find_inline(key, len, h) {
            Ok(i) => self.slots[i].count += n,
            Err(i) => self.insert(
                Slot {
                    key,
                    count: n,
                    tag: 0,
                    len: len as u32,
                },
                h,
                i,
            ),
        }
    }

    fn add_long(&mut self, word: &[u8], n: u64) {
        let h = self.hash_long(word);
        match self.find_long(word, h) {
            Ok(i) => self.slots[i].count += n,
            Err(i) => {
                let offset = self.arena.len();
                self.arena.extend_from_slice(word);
                self.insert(
                    Slot {
                        key: offset as u128 | (word.len() as u128) << 64,
                        count: n,
                        tag: h as u32,
                        len: LONG,
                    },
                    h,
                    i,
                );
            }
        }
    }

    /// The slot of an inline word (`Ok`), or the empty slot where it would go (`Err`).
    #[inline]
    fn find_inline(&self, key: u128, len: usize, h: u64) -> Result<usize, usize> {
        let mask = self.mask();
        let mut i = (h >> self.shift) as usize;
        loop {
            let slot = &self.slots[i];
            // An inline slot's key is the word's bytes: no need to compare hashes first.
            if slot.key == key && slot.len == len as u32 {
                return Ok(i);
            }
            if slot.len == 0 {
                return Err(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// The slot of a word longer than `INLINE` (`Ok`), or the empty slot where it would go (`Err`).
    fn find_long(&self, word: &[u8], h: u64) -> Result<usize, usize> {
        let mask = self.mask();
        let mut i = (h >> self.shift) as usize;
        loop {
            let slot = &self.slots[i];
            if slot.len == LONG && slot.tag == h as u32 && self.long_word(slot) == word {
                return Ok(i);
            }
            if slot.len == 0 {
                return Err(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Puts a new word's slot at the empty slot `i` (found for hash `h`), or after growing the table.
    fn insert(&mut self, slot: Slot, h: u64, i: usize) {
        self.len += 1;
        if self.len * 2 > self.slots.len() {
            self.grow();
            self.place(slot, h);
        } else {
            self.slots[i] = slot;
        }
    }

    /// Puts `slot` at the first empty slot from its hash's position.
    fn place(&mut self, slot: Slot, h: u64) {
        let mask = self.mask();
        let mut i = (h >> self.shift) as usize;
        while self.slots[i].len != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = slot;
    }

    fn grow(&mut self) {
        let bigger = vec![Slot::default(); self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, bigger);
        self.shift -= 1;
        for slot in old.into_iter().filter(|s| s.len != 0) {
            let h = if slot.len == LONG {
                self.hash_long(self.long_word(&slot))
            } else {
                self.hash_inline(slot.key, slot.len as usize)
            };
            self.place(slot, h);
        }
    }

    fn long_word(&self, slot: &Slot) -> &[u8] {
        let offset = slot.key as u64 as usize;
        let len = (slot.key >> 64) as usize;
        &self.arena[offset..offset + len]
    }

    /// The count of `word`, if it was added.
    pub fn get(&self, word: &[u8]) -> Option<u64> {
        let found = if word.is_empty() {
            return None;
        } else if word.len() <= INLINE {
            let key = inline_key(word);
            self.find_inline(key, word.len(), self.hash_inline(key, word.len()))
        } else {
            self.find_long(word, self.hash_long(word))
        };
        found.ok().map(|i| self.slots[i].count)
    }

    /// Calls `f` with each word and its count (in no particular order).
    pub fn for_each(&self, mut f: impl FnMut(&[u8], u64)) {
        for slot in self.slots.iter().filter(|s| s.len != 0) {
            if slot.len == LONG {
                f(self.long_word(slot), slot.count);
            } else {
                f(&slot.key.to_le_bytes()[..slot.len as usize], slot.count);
            }
        }
    }

    /// Adds the counts of `other`.
    pub fn merge(&mut self, other: &WordTable) {
        other.for_each(|word, n| self.add(word, n));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn contents(t: &WordTable) -> HashMap<Vec<u8>, u64> {
        let mut m = HashMap::new();
        t.for_each(|w, n| {
            assert!(m.insert(w.to_vec(), n).is_none(), "word listed twice");
        });
        assert_eq!(m.len(), t.len());
        m
    }

    #[test]
    fn counts_short_and_long_words() {
        let mut t = WordTable::new();
        let words: [&[u8]; 7] = [
            b"a",
            b"a\0", // a NUL byte is part of a word: not the same key as "a"
            b"exactly16bytes!!",
            b"seventeen bytes!!",
            b"a much longer word that lives in the arena",
            "été".as_bytes(),
            b"\xff\xfe",
        ];
        for (i, w) in words.iter().enumerate() {
            for _ in 0..=i {
                t.add(w, 1);
            }
        }
        t.add(b"a", 10);
        let m = contents(&t);
        assert_eq!(m.len(), words.len());
        assert_eq!(m[&b"a"[..]], 11);
        for (i, w) in words.iter().enumerate().skip(1) {
            assert_eq!(m[*w], i as u64 + 1, "{:?}", String::from_utf8_lossy(w));
            assert_eq!(t.get(w), Some(i as u64 + 1));
        }
        assert_eq!(t.get(b"b"), None);
        assert_eq!(t.get(b"seventeen bytes!?"), None);
        assert_eq!(t.get(b""), None);
    }

    #[test]
    fn grows_and_keeps_every_count() {
        let mut t = WordTable::new();
        let mut expected = HashMap::new();
        for i in 0..50_000u64 {
            // Short and long words, many sharing prefixes.
            let w = if i % 7 == 0 {
                format!("a-long-word-number-{i}")
            } else {
                format!("w{}", i % 20_000)
            };
            t.add(w.as_bytes(), i % 3 + 1);
            *expected.entry(w.into_bytes()).or_insert(0) += i % 3 + 1;
        }
        assert_eq!(contents(&t), expected);
    }

    #[test]
    fn colliding_hashes_are_told_apart() {
        // Every word in the same slot chain: a table with a constant hash seed of zero still compares keys.
        let mut t = WordTable::new();
        t.seed = (0, 0);
        let words: Vec<Vec<u8>> = (0..300u32).map(|i| i.to_le_bytes().to_vec()).collect();
        for w in &words {
            t.add(w, 1);
            t.add(w, 1);
        }
        assert!(words.iter().all(|w| t.get(w) == Some(2)));
        let m = contents(&t);
        assert_eq!(m.len(), 300);
        assert!(m.values().all(|&n| n == 2));
    }

    #[test]
    fn merges() {
        let mut a = WordTable::new();
        let mut b = WordTable::new();
        a.add(b"x", 1);
        a.add(b"a word longer than sixteen bytes", 2);
        b.add(b"x", 3);
        b.add(b"y", 4);
        b.add(b"a word longer than sixteen bytes", 5);
        a.merge(&b);
        let m = contents(&a);
        assert_eq!(m[&b"x"[..]], 4);
        assert_eq!(m[&b"y"[..]], 4);
        assert_eq!(m[&b"a word longer than sixteen bytes"[..]], 7);
    }
}
