//! A fixed-capacity single-producer single-consumer ring, the shape of a
//! descriptor queue shared with a device: the producer owns the tail, the
//! consumer the head, and a full ring refuses instead of growing.

/// A bounded FIFO of `T` with a capacity fixed at creation.
#[derive(Debug)]
pub struct Ring<T> {
    slots: Vec<Option<T>>,
    head: usize,
    len: usize,
}

impl<T> Ring<T> {
    /// An empty ring of `capacity` slots (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Ring {
            slots: (0..capacity).map(|_| None).collect(),
            head: 0,
            len: 0,
        }
    }

    /// Slots in the ring.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Entries waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether a push would be refused.
    pub fn is_full(&self) -> bool {
        self.len == self.slots.len()
    }

    /// Appends at the tail.
    ///
    /// # Errors
    ///
    /// The entry itself, when the ring is full.
    pub fn push(&mut self, entry: T) -> Result<(), T> {
        if self.is_full() {
            return Err(entry);
        }
        let tail = (self.head + self.len) % self.slots.len();
        self.slots[tail] = Some(entry);
        self.len += 1;
        Ok(())
    }

    /// Takes the entry at the head.
    pub fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let entry = self.slots[self.head].take();
        self.head = (self.head + 1) % self.slots.len();
        self.len -= 1;
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_when_full_and_keeps_order_across_wrap() {
        let mut ring = Ring::new(3);
        for round in 0..5u32 {
            assert!(ring.push(round * 10).is_ok());
            assert!(ring.push(round * 10 + 1).is_ok());
            assert!(ring.push(round * 10 + 2).is_ok());
            assert_eq!(ring.push(99), Err(99));
            assert_eq!(ring.pop(), Some(round * 10));
            assert_eq!(ring.pop(), Some(round * 10 + 1));
            assert_eq!(ring.pop(), Some(round * 10 + 2));
            assert_eq!(ring.pop(), None);
        }
    }
}
