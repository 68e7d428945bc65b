//! Configuring a loop: `EventLoop::builder()…build()`.

use crate::event_loop::EventLoop;
use crate::panic::{print_unhandled, PanicHook, PanicPolicy, UnhandledPanic};
use std::fmt;
use std::io;
use std::sync::Arc;

/// Builds an [`EventLoop`] with non-default settings.
///
/// ```
/// # use looplet_executor as looplet;
/// use looplet::{EventLoop, PanicPolicy};
/// let event_loop = EventLoop::builder()
///     .name("ui")
///     .panic_policy(PanicPolicy::StopLoop)
///     .on_unhandled_panic(|p| eprintln!("[ui] {} died: {}", p.task, p.message))
///     .build()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "a builder does nothing until .build() is called"]
pub struct Builder {
    pub(crate) name: Option<String>,
    pub(crate) panic_policy: PanicPolicy,
    pub(crate) panic_hook: PanicHook,
    pub(crate) wake_hook: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            name: None,
            panic_policy: PanicPolicy::Continue,
            panic_hook: Box::new(print_unhandled),
            wake_hook: None,
        }
    }
}

impl Builder {
    /// A builder with the defaults.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let event_loop = looplet::Builder::new().build()?; // the same as EventLoop::new()
    /// # drop(event_loop);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the loop (shown in `Debug` output).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let event_loop = looplet::EventLoop::builder().name("audio").build()?;
    /// assert!(format!("{event_loop:?}").contains("audio"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// What to do when a task panics; see [`PanicPolicy`].
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use looplet::PanicPolicy;
    /// let mut event_loop = looplet::EventLoop::builder()
    ///     .panic_policy(PanicPolicy::Propagate)
    ///     .build()?;
    /// let _task = event_loop.spawn(async { panic!("bug") });
    /// let raised = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| event_loop.run()));
    /// assert!(raised.is_err(), "the panic came out of run()");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn panic_policy(mut self, policy: PanicPolicy) -> Self {
        self.panic_policy = policy;
        self
    }

    /// Called on the loop thread for a panic nobody will see otherwise: a
    /// detached task, a callback, a `Drop` run by the loop. The default
    /// prints one line to stderr. A panic that turns up after the loop is
    /// gone (a `RemoteHandle` holding one, dropped unread later) has no hook
    /// to go to and is printed to stderr.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let event_loop = looplet::EventLoop::builder()
    ///     .on_unhandled_panic(|p| eprintln!("[game] {} crashed: {}", p.task, p.message))
    ///     .build()?;
    /// # drop(event_loop);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_unhandled_panic(mut self, hook: impl Fn(&UnhandledPanic<'_>) + 'static) -> Self {
        self.panic_hook = Box::new(hook);
        self
    }

    /// Called whenever the loop must be woken while it sleeps or is between
    /// host-driven calls, on the thread that issues the wake (the submitting
    /// thread, or the loop thread handing back with work pending): how a GUI
    /// or game loop learns that `turn`/`run_for` has work.
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let wakes = Arc::new(AtomicUsize::new(0));
    /// let counter = Arc::clone(&wakes);
    /// // A GUI would post an event to its own loop here (winit's EventLoopProxy, say).
    /// let event_loop = looplet::EventLoop::builder()
    ///     .wake_hook(move || { counter.fetch_add(1, Ordering::Relaxed); })
    ///     .build()?;
    /// event_loop.handle().call_soon_threadsafe(|| ()).unwrap();
    /// assert_eq!(wakes.load(Ordering::Relaxed), 1, "the loop was not running: woken");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wake_hook(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.wake_hook = Some(Arc::new(hook));
        self
    }

    /// Creates the loop (opens its `epoll` and `eventfd`).
    ///
    /// ```
    /// # use looplet_executor as looplet;
    /// let mut event_loop = looplet::EventLoop::builder().build()?;
    /// event_loop.run_until_stalled();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(self) -> io::Result<EventLoop> {
        EventLoop::from_builder(self)
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("name", &self.name)
            .field("panic_policy", &self.panic_policy)
            .field("wake_hook", &self.wake_hook.is_some())
            .finish_non_exhaustive()
    }
}
