//! `TaskGroup`: tasks that live and end together.
//!
//! A group owns its children. It hands their outcomes back as they finish
//! ([`TaskGroup::join_next`]) or all at once in spawn order
//! ([`TaskGroup::join`]), and it guarantees that no child outlives it: when
//! the group is dropped, or the task awaiting `join` is aborted, every child
//! still running is aborted. This is trio's nursery, asyncio's `TaskGroup`
//! and tokio's `JoinSet` in one.
//!
//! Failure spreads the way it does in a nursery: a child that panics makes
//! the group soft-cancel its siblings (they see `looplet::cancelled()`), give
//! them a grace period to clean up, then abort the ones still running.
//! [`TaskGroup::try_join`] does the same on a child's first `Err`.
//!
//! ```text
//!   group.spawn(f) ──► child = f wrapped: ┌ a panic in f: cancel the siblings (soft, then
//!                                         │   abort after the grace), then re-raise it
//!                                         └ when its future is dropped (it ended, however):
//!                                             its index joins the group's `finished` queue
//!   join_next ──► the next index in `finished` → its JoinHandle's outcome
//!   join      ──► join_next until every child is collected, in spawn order
//!   drop      ──► abort every child still running
//! ```
//!
//! Children may spawn siblings into their own group through a
//! [`GroupSpawner`], which holds the group weakly: a child keeps nothing
//! alive, so a dropped group is really gone and its children aborted.

use crate::context;
use crate::core::Core;
use crate::join_handle::JoinHandle;
use crate::outcome::JoinError;
use crate::panic::catch;
use crate::time::sleep;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// A set of tasks that end together; see the module docs.
///
/// ```
/// # use looplet_executor as looplet;
/// use looplet::TaskGroup;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let sizes = event_loop.block_on(async {
///     let group = TaskGroup::new();
///     for name in ["a", "bb", "ccc"] {
///         group.spawn(async move { name.len() });
///     }
///     group.join().await // in spawn order
/// });
/// let sizes: Vec<usize> = sizes.into_iter().map(Result::unwrap).collect();
/// assert_eq!(sizes, [1, 2, 3]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TaskGroup<T: 'static> {
    inner: Rc<GroupInner<T>>,
}

/// Spawns into a [`TaskGroup`] from inside one of its children, without
/// keeping the group alive.
///
/// ```
/// # use looplet_executor as looplet;
/// use looplet::TaskGroup;
/// let mut event_loop = looplet::EventLoop::new()?;
/// let outcomes = event_loop.block_on(async {
///     let group = TaskGroup::new();
///     let spawner = group.spawner();
///     group.spawn(async move {
///         spawner.spawn(async { "the sibling" }); // into its own group
///         "the first"
///     });
///     group.join().await
/// });
/// assert_eq!(outcomes.len(), 2, "join waited for the sibling too");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct GroupSpawner<T: 'static> {
    group: Weak<GroupInner<T>>,
}

/// Why [`TaskGroup::try_join`] failed: the first child to fail, and how.
#[derive(Debug)]
pub enum GroupError<E> {
    /// A child returned `Err(e)`.
    Failed(E),
    /// A child had no output: it panicked, was cancelled, or the loop closed.
    Join(JoinError),
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::Failed(error) => write!(f, "a task of the group failed: {error}"),
            GroupError::Join(error) => write!(f, "a task of the group ended: {error}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for GroupError<E> {}

struct GroupInner<T: 'static> {
    state: RefCell<GroupState<T>>,
    /// The loop the children run on: the current one at the first `spawn`.
    core: RefCell<Option<Rc<Core>>>,
    /// The task that aborts the children when the grace is over, once they
    /// were cancelled; stopped as soon as nothing is left for it to do.
    reaper: RefCell<Option<JoinHandle<()>>>,
    /// How long cancelled children get to clean up before they are aborted.
    grace: Duration,
}

struct GroupState<T: 'static> {
    /// By spawn index; `None` once the child's outcome was collected (or
    /// while `abort_all` holds the handle).
    children: Vec<Option<JoinHandle<T>>>,
    /// Indices of children whose futures are gone, in the order they went.
    finished: VecDeque<usize>,
    /// Children not collected yet.
    left: usize,
    /// The task waiting in `join_next`/`join`, woken when a child finishes.
    waiter: Option<Waker>,
    /// The children were asked to cancel (a failure, or `cancel()`); any
    /// child spawned from now on starts cancelled.
    cancelling: bool,
}

impl<T: 'static> TaskGroup<T> {
    /// How long cancelled children get before they are aborted, unless
    /// [`with_grace`](Self::with_grace) says otherwise.
    pub const DEFAULT_GRACE: Duration = Duration::from_secs(1);

    /// An empty group, with the default grace.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let group: looplet::TaskGroup<()> = looplet::TaskGroup::new();
    /// assert!(group.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_grace(Self::DEFAULT_GRACE)
    }

    /// An empty group whose cancelled children get `grace` to clean up.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let group: looplet::TaskGroup<u8> = looplet::TaskGroup::with_grace(Duration::from_millis(50));
    /// # drop(group);
    /// ```
    pub fn with_grace(grace: Duration) -> Self {
        TaskGroup {
            inner: Rc::new(GroupInner {
                state: RefCell::new(GroupState {
                    children: Vec::new(),
                    finished: VecDeque::new(),
                    left: 0,
                    waiter: None,
                    cancelling: false,
                }),
                core: RefCell::new(None),
                reaper: RefCell::new(None),
                grace,
            }),
        }
    }

    /// Spawns `future` as a child of the group, on the current loop.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// event_loop.block_on(async {
    ///     let mut group = looplet::TaskGroup::new();
    ///     group.spawn(async { 1 });
    ///     assert_eq!(group.join_next().await.unwrap().unwrap(), 1);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Panics
    /// Outside a task or callback of a running loop.
    #[track_caller]
    pub fn spawn(&self, future: impl Future<Output = T> + 'static) {
        let core = context::current(
            "looplet::TaskGroup::spawn called",
            "a group's tasks run on the current loop: spawn them from a task or from \
             EventLoop::block_on's future",
        );
        self.inner.core.borrow_mut().get_or_insert(core);
        spawn_child(&self.inner, future);
    }

    /// A handle that spawns into this group, for its children.
    pub fn spawner(&self) -> GroupSpawner<T> {
        GroupSpawner {
            group: Rc::downgrade(&self.inner),
        }
    }

    /// Soft-cancels every child still running (they see
    /// `looplet::cancelled()`), then aborts those still running after the
    /// grace. Children spawned after this start cancelled. Harmless to repeat.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let outcomes = event_loop.block_on(async {
    ///     let group = looplet::TaskGroup::new();
    ///     group.spawn(async {
    ///         looplet::cancelled().await;
    ///         "stopped cleanly"
    ///     });
    ///     group.cancel();
    ///     group.join().await
    /// });
    /// assert_eq!(outcomes[0].as_ref().unwrap(), &"stopped cleanly");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cancel(&self) {
        cancel_all(&self.inner);
    }

    /// How many children have not been collected yet.
    pub fn len(&self) -> usize {
        self.inner.state.borrow().left
    }

    /// True if every child has been collected (or none was spawned).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The outcome of the next child to finish, in the order they finish;
    /// `None` once every child has been collected.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::time::Duration;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let order = event_loop.block_on(async {
    ///     let mut group = looplet::TaskGroup::new();
    ///     group.spawn(async { looplet::sleep(Duration::from_millis(5)).await; "slow" });
    ///     group.spawn(async { "quick" });
    ///     let mut order = Vec::new();
    ///     while let Some(outcome) = group.join_next().await {
    ///         order.push(outcome.unwrap());
    ///     }
    ///     order
    /// });
    /// assert_eq!(order, ["quick", "slow"]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        let next = poll_fn(|cx| poll_next(&self.inner, cx)).await;
        next.map(|(_, outcome)| outcome)
    }

    /// Waits for every child and returns their outcomes in spawn order (of
    /// the children not already collected by `join_next`). A child that
    /// panicked has made the group cancel its siblings first (see the
    /// module docs); its `Err(Panicked)` is in the list.
    pub async fn join(self) -> Vec<Result<T, JoinError>> {
        let mut outcomes: Vec<Option<Result<T, JoinError>>> = Vec::new();
        while let Some((index, outcome)) = poll_fn(|cx| poll_next(&self.inner, cx)).await {
            if outcomes.len() <= index {
                outcomes.resize_with(index + 1, || None);
            }
            outcomes[index] = Some(outcome);
        }
        outcomes.into_iter().flatten().collect()
    }
}

impl<U: 'static, E: 'static> TaskGroup<Result<U, E>> {
    /// Like [`join`](Self::join), for children that return `Result`: the
    /// outputs in spawn order if every child returned `Ok`; else the first
    /// failure (in the order they finished), after the group cancelled the
    /// other children (soft cancel, the grace, then abort) and waited for
    /// them to end.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use looplet::GroupError;
    /// let mut event_loop = looplet::EventLoop::new()?;
    /// let outcome = event_loop.block_on(async {
    ///     let group = looplet::TaskGroup::new();
    ///     group.spawn(async { Err::<u8, _>("disk full") });
    ///     group.spawn(async {
    ///         looplet::cancelled().await; // the failure cancels this one
    ///         Ok(2)
    ///     });
    ///     group.try_join().await
    /// });
    /// assert!(matches!(outcome, Err(GroupError::Failed("disk full"))));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn try_join(self) -> Result<Vec<U>, GroupError<E>> {
        let mut outputs: Vec<Option<U>> = Vec::new();
        let mut failure = None;
        while let Some((index, outcome)) = poll_fn(|cx| poll_next(&self.inner, cx)).await {
            let failed = match outcome {
                Ok(Ok(output)) => {
                    if outputs.len() <= index {
                        outputs.resize_with(index + 1, || None);
                    }
                    outputs[index] = Some(output);
                    continue;
                }
                Ok(Err(error)) => GroupError::Failed(error),
                Err(error) => GroupError::Join(error),
            };
            if failure.is_none() {
                failure = Some(failed);
                cancel_all(&self.inner);
            }
        }
        match failure {
            Some(failure) => Err(failure),
            None => Ok(outputs.into_iter().flatten().collect()),
        }
    }
}

impl<T: 'static> Default for TaskGroup<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: 'static> Drop for TaskGroup<T> {
    /// No orphans: every child still running is aborted.
    fn drop(&mut self) {
        abort_all(&self.inner);
        stop_reaper(&self.inner);
    }
}

impl<T: 'static> fmt::Debug for TaskGroup<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.borrow();
        f.debug_struct("TaskGroup")
            .field("left", &state.left)
            .field("cancelling", &state.cancelling)
            .field("grace", &self.inner.grace)
            .finish()
    }
}

impl<T: 'static> GroupSpawner<T> {
    /// Spawns `future` into the group, on the loop of its other children.
    /// Returns false, and drops `future`, if the group is gone (or has never
    /// had a child, so it has no loop yet).
    #[track_caller]
    pub fn spawn(&self, future: impl Future<Output = T> + 'static) -> bool {
        let Some(group) = self.group.upgrade() else {
            return false;
        };
        if group.core.borrow().is_none() {
            return false;
        }
        spawn_child(&group, future);
        true
    }
}

impl<T: 'static> Clone for GroupSpawner<T> {
    fn clone(&self) -> Self {
        GroupSpawner {
            group: Weak::clone(&self.group),
        }
    }
}

impl<T: 'static> fmt::Debug for GroupSpawner<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupSpawner")
            .field("group_alive", &(self.group.strong_count() > 0))
            .finish()
    }
}

/// Wraps `future` as the group's next child and spawns it on the group's loop.
#[track_caller]
fn spawn_child<T: 'static>(group: &Rc<GroupInner<T>>, future: impl Future<Output = T> + 'static) {
    let core = group
        .core
        .borrow()
        .clone()
        .expect("the group's loop is known");
    let index = group.state.borrow().children.len();
    let finished = FinishSignal {
        group: Rc::downgrade(group),
        index,
    };
    let handle = JoinHandle::spawn(core, child(future, finished), None);
    let mut state = group.state.borrow_mut();
    if state.cancelling {
        handle.cancel();
    }
    state.children.push(Some(handle));
    state.left += 1;
}

/// A child's future: the user's `future`, plus what the group must hear
/// about it. `finished` lives in this future's state, so it is dropped with
/// it, however the child ends.
async fn child<T: 'static, F: Future<Output = T>>(future: F, finished: FinishSignal<T>) -> T {
    let group = Weak::clone(&finished.group);
    let _finished = finished;
    let mut future = pin!(future);
    poll_fn(|cx| match catch(|| future.as_mut().poll(cx)) {
        Ok(poll) => poll,
        Err(payload) => {
            // A panic: the siblings are asked to stop first, then the panic
            // goes on to the child's own handle, payload intact.
            if let Some(group) = group.upgrade() {
                cancel_all(&group);
            }
            std::panic::resume_unwind(payload)
        }
    })
    .await
}

/// Tells the group that a child's future is gone (it returned, panicked or
/// was aborted): dropped with the future, so it fires however the child ended.
struct FinishSignal<T: 'static> {
    group: Weak<GroupInner<T>>,
    index: usize,
}

impl<T: 'static> Drop for FinishSignal<T> {
    fn drop(&mut self) {
        let Some(group) = self.group.upgrade() else {
            return;
        };
        let waiter = {
            let mut state = group.state.borrow_mut();
            state.finished.push_back(self.index);
            state.waiter.take()
        };
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }
}

/// The next finished child's index and outcome, `None` when all are collected.
fn poll_next<T: 'static>(
    group: &Rc<GroupInner<T>>,
    cx: &mut Context<'_>,
) -> Poll<Option<(usize, Result<T, JoinError>)>> {
    let mut state = group.state.borrow_mut();
    if let Some(index) = state.finished.pop_front() {
        let mut handle = state.children[index]
            .take()
            .expect("a finished child's handle is in the group");
        drop(state);
        // The child's future is gone; its task is finished, or finishes
        // before anything else runs (the loop records an outcome right
        // after dropping a future), so this is ready at once.
        return match Pin::new(&mut handle).poll(cx) {
            Poll::Ready(outcome) => {
                group.state.borrow_mut().left -= 1;
                Poll::Ready(Some((index, outcome)))
            }
            Poll::Pending => {
                let mut state = group.state.borrow_mut();
                state.children[index] = Some(handle);
                state.finished.push_front(index);
                Poll::Pending
            }
        };
    }
    if state.left == 0 {
        drop(state);
        stop_reaper(group);
        return Poll::Ready(None);
    }
    let replaced = state.waiter.replace(cx.waker().clone());
    drop(state);
    drop(replaced); // another executor's waker, maybe: dropped outside the borrow
    Poll::Pending
}

/// Soft-cancels the children still running and starts the grace, after
/// which `abort_all` runs. Only the first call does anything.
fn cancel_all<T: 'static>(group: &Rc<GroupInner<T>>) {
    let mut state = group.state.borrow_mut();
    if state.cancelling {
        return;
    }
    state.cancelling = true;
    let mut any_running = false;
    for child in state.children.iter().flatten() {
        // Counting a request and waking a task runs no user code.
        any_running |= child.cancel();
    }
    drop(state);
    let core = group.core.borrow().clone();
    let (true, Some(core)) = (any_running, core) else {
        return; // nothing running: nothing to abort later
    };
    let (grace, weak) = (group.grace, Rc::downgrade(group));
    let reaper = JoinHandle::spawn(
        core,
        async move {
            sleep(grace).await;
            if let Some(group) = weak.upgrade() {
                abort_all(&group);
            }
        },
        Some("a task group's grace".into()),
    );
    // It holds the group weakly; `stop_reaper` ends it early once every
    // child has been collected or the group is dropped.
    *group.reaper.borrow_mut() = Some(reaper);
}

/// Ends the grace task, if any: nothing is left for it to abort.
fn stop_reaper<T: 'static>(group: &GroupInner<T>) {
    let reaper = group.reaper.borrow_mut().take();
    if let Some(reaper) = reaper {
        reaper.abort();
    }
}

/// Aborts every child still running. The handles are taken out of the
/// group while their futures are dropped, since each drop reports to the
/// group (`FinishSignal`), and put back for `join` to collect.
fn abort_all<T: 'static>(group: &Rc<GroupInner<T>>) {
    let taken: Vec<(usize, JoinHandle<T>)> = {
        let mut state = group.state.borrow_mut();
        state
            .children
            .iter_mut()
            .enumerate()
            .filter_map(|(index, child)| child.take().map(|handle| (index, handle)))
            .collect()
    };
    for (_, handle) in &taken {
        handle.abort();
    }
    let mut state = group.state.borrow_mut();
    for (index, handle) in taken {
        state.children[index] = Some(handle);
    }
}
