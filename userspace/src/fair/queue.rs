//! The queue between ingress and the batch stage: a [`FairSchedule`] behind
//! a lock, a doorbell that wakes the batch thread, and a signal that wakes
//! ingress tasks waiting for room.
//!
//! Ingress never blocks a thread on it: a stream whose source has no room
//! waits asynchronously (its sender, out of stream credit meanwhile, is
//! slowed), up to a deadline after which its transaction is shed and
//! counted by the caller. The batch thread waits on the doorbell beside its
//! other inputs.

use std::{
    hash::Hash,
    sync::{Arc, Mutex},
    time::Duration,
};

use crossbeam_channel::{Receiver, Sender};
use tokio::sync::Notify;

use super::schedule::{Class, FairLimits, FairSchedule, Push};

struct Inner<K, T> {
    schedule: Mutex<FairSchedule<K, T>>,
    /// Woken whenever the batch stage takes items.
    room: Notify,
}

/// Makes a fair queue within `limits`: the ingress end and the batch end.
pub fn fair_queue<K, T>(limits: FairLimits) -> (FairSender<K, T>, FairReceiver<K, T>)
where
    K: Copy + Eq + Hash + Ord,
{
    let inner = Arc::new(Inner {
        schedule: Mutex::new(FairSchedule::new(limits)),
        room: Notify::new(),
    });
    let (bell, doorbell) = crossbeam_channel::bounded(1);
    (
        FairSender {
            inner: inner.clone(),
            bell,
        },
        FairReceiver { inner, doorbell },
    )
}

/// What became of a transaction offered with [`FairSender::push_waiting`].
#[derive(Debug, PartialEq)]
pub enum Offered<T> {
    /// Queued at once.
    Queued,
    /// Queued after waiting for room.
    QueuedAfterWait,
    /// Queued; this item of the source furthest over its share was shed.
    QueuedShedding(T),
    /// No room came before the deadline (or the queue is gone): not queued.
    Shed(T),
}

/// The ingress end. Cloning it makes another producer; the batch end sees
/// the queue closed once every producer is dropped.
pub struct FairSender<K, T> {
    inner: Arc<Inner<K, T>>,
    bell: Sender<()>,
}

impl<K, T> Clone for FairSender<K, T> {
    fn clone(&self) -> Self {
        FairSender {
            inner: self.inner.clone(),
            bell: self.bell.clone(),
        }
    }
}

impl<K: Copy + Eq + Hash + Ord, T> FairSender<K, T> {
    /// Queues `item` from `source` if there is room for it, else gives it back.
    pub fn try_push(&self, source: K, class: Class, item: T) -> Push<T> {
        let push = match self.inner.schedule.lock() {
            Ok(mut schedule) => schedule.push(source, class, item),
            Err(_) => return Push::Full(item),
        };
        if !matches!(push, Push::Full(_)) {
            // A full bell already promises a wake-up that will see this item;
            // a disconnected one means the batch stage is gone (shutdown).
            let _ = self.bell.try_send(());
        }
        push
    }

    /// Queues `item`, waiting up to `deadline` for room if its source is the
    /// one furthest over its share of a full queue.
    pub async fn push_waiting(
        &self,
        source: K,
        class: Class,
        item: T,
        deadline: Duration,
    ) -> Offered<T> {
        let give_up = tokio::time::Instant::now() + deadline;
        let mut item = item;
        let mut waited = false;
        loop {
            let notified = self.inner.room.notified();
            tokio::pin!(notified);
            // Registered before trying, so a take in between still wakes us.
            notified.as_mut().enable();
            match self.try_push(source, class, item) {
                Push::Queued if waited => return Offered::QueuedAfterWait,
                Push::Queued => return Offered::Queued,
                Push::QueuedShedding(shed) => return Offered::QueuedShedding(shed),
                Push::Full(back) => item = back,
            }
            waited = true;
            if tokio::time::timeout_at(give_up, notified).await.is_err() {
                return Offered::Shed(item);
            }
        }
    }

    /// Waits until a push from `source` would be queued (used before taking
    /// the source's next stream, so a source over its share is not read).
    pub async fn wait_room(&self, source: K, class: Class) {
        loop {
            let notified = self.inner.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let room = self
                .inner
                .schedule
                .lock()
                .map(|schedule| schedule.has_room(&source, class))
                .unwrap_or(true);
            if room {
                return;
            }
            notified.await;
        }
    }
}

/// The batch end.
pub struct FairReceiver<K, T> {
    inner: Arc<Inner<K, T>>,
    doorbell: Receiver<()>,
}

impl<K: Copy + Eq + Hash + Ord, T> FairReceiver<K, T> {
    /// Rings after pushes; disconnected once every sender is dropped. Select
    /// on it, then [`FairReceiver::take`].
    pub fn doorbell(&self) -> &Receiver<()> {
        &self.doorbell
    }

    /// Takes up to `max` items in fair order, grouped by source, and wakes
    /// the ingress tasks waiting for room.
    pub fn take(&self, max: usize) -> Vec<T> {
        let taken = match self.inner.schedule.lock() {
            Ok(mut schedule) => schedule.take(max),
            Err(_) => Vec::new(),
        };
        if !taken.is_empty() {
            self.inner.room.notify_waiters();
        }
        taken
    }

    /// Items queued and sources with something queued (for the gauges).
    pub fn depth(&self) -> (usize, usize) {
        self.inner
            .schedule
            .lock()
            .map(|schedule| (schedule.len(), schedule.sources()))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(capacity: usize) -> FairLimits {
        FairLimits {
            capacity,
            unstaked_floor: 0.2,
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_waiting_source_is_queued_once_the_batch_stage_takes() {
        let (tx, rx) = fair_queue::<u8, u32>(limits(1));
        assert_eq!(tx.try_push(1, Class::Unstaked, 0), Push::Queued);
        let waiter = {
            let tx = tx.clone();
            tokio::spawn(async move {
                tx.push_waiting(1, Class::Unstaked, 1, Duration::from_secs(5))
                    .await
            })
        };
        tokio::task::yield_now().await;
        assert_eq!(rx.take(8), vec![0]);
        assert_eq!(waiter.await.ok(), Some(Offered::QueuedAfterWait));
        assert_eq!(rx.take(8), vec![1]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_source_that_gets_no_room_is_shed_at_its_deadline() {
        let (tx, _rx) = fair_queue::<u8, u32>(limits(1));
        tx.try_push(1, Class::Unstaked, 0);
        let offered = tx
            .push_waiting(1, Class::Unstaked, 1, Duration::from_millis(100))
            .await;
        assert_eq!(offered, Offered::Shed(1));
    }

    #[test]
    fn the_batch_end_sees_the_queue_closed_when_every_sender_is_gone() {
        let (tx, rx) = fair_queue::<u8, u32>(limits(4));
        let second = tx.clone();
        drop(tx);
        second.try_push(1, Class::Unstaked, 7);
        drop(second);
        // The ring of the last push, then the disconnection.
        assert!(rx.doorbell().recv().is_ok());
        assert_eq!(rx.take(4), vec![7]);
        assert!(rx.doorbell().recv().is_err());
    }
}
