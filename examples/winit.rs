//! looplet inside a winit window's event loop: the wake hook is winit's
//! `EventLoopProxy`.
//!
//! Build it with `cargo build --features winit --example winit`; run it
//! with `cargo run --features winit --example winit` (it needs a display).
//!
//! winit owns the thread and sleeps in its own poller. looplet is woken
//! from other threads through its wake hook, which posts a user event into
//! winit's queue; winit then calls `user_event`, where looplet runs until
//! it stalls. looplet's timers are honoured through `about_to_wait`: winit
//! is told to wake at looplet's `next_deadline` (`ControlFlow::WaitUntil`).
//! A worker thread submits a task every half second; a looplet task with an
//! `interval` updates the window title.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};
use winit::application::ApplicationHandler;
use winit::event::WindowEvent;
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop as WinitLoop};
use winit::window::{Window, WindowId};

/// What looplet's wake hook posts into winit's queue.
#[derive(Debug, Clone, Copy)]
struct LoopletWoke;

struct App {
    looplet: looplet::EventLoop,
    window: Option<Window>,
    /// Written by looplet tasks, read by the window: loop-thread state.
    seconds: Rc<Cell<u32>>,
    submissions: Rc<Cell<u32>>,
}

impl App {
    /// Runs looplet if it has work due now.
    fn run_looplet_if_due(&mut self) {
        if self
            .looplet
            .next_deadline()
            .is_some_and(|at| at <= Instant::now())
        {
            self.looplet.run_until_stalled();
        }
        if let Some(window) = &self.window {
            window.set_title(&format!(
                "looplet in winit: {} s, {} remote submissions",
                self.seconds.get(),
                self.submissions.get()
            ));
        }
    }
}

impl ApplicationHandler<LoopletWoke> for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.window.is_none() {
            let attributes = Window::default_attributes().with_title("looplet in winit");
            self.window = Some(event_loop.create_window(attributes).expect("a window"));
        }
    }

    fn user_event(&mut self, _event_loop: &ActiveEventLoop, _woke: LoopletWoke) {
        self.looplet.run_until_stalled();
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _id: WindowId, event: WindowEvent) {
        if let WindowEvent::CloseRequested = event {
            event_loop.exit();
        }
    }

    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        self.run_looplet_if_due();
        // Sleep until looplet's next timer, or until a wake (its hook).
        event_loop.set_control_flow(match self.looplet.next_deadline() {
            Some(at) => ControlFlow::WaitUntil(at),
            None => ControlFlow::Wait,
        });
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let event_loop = WinitLoop::<LoopletWoke>::with_user_event().build()?;
    let proxy = event_loop.create_proxy();
    let looplet = looplet::EventLoop::builder()
        .name("in-winit")
        .wake_hook(move || {
            let _ = proxy.send_event(LoopletWoke); // winit gone: nothing to wake
        })
        .build()?;

    let seconds = Rc::new(Cell::new(0));
    let s = Rc::clone(&seconds);
    let _clock = looplet.spawn(async move {
        let mut every = looplet::interval(Duration::from_secs(1));
        every.tick().await; // the first tick is immediate
        loop {
            every.tick().await;
            s.set(s.get() + 1);
        }
    });

    // A worker submits tasks from outside; `spawn_with` builds each on the
    // loop thread, where it may reach `Rc` state through a thread-local.
    let submissions = Rc::new(Cell::new(0));
    SUBMISSIONS.with(|cell| *cell.borrow_mut() = Some(Rc::clone(&submissions)));
    let handle = looplet.handle();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(500));
        let submitted = handle.spawn_with(|| async {
            SUBMISSIONS.with(|cell| {
                if let Some(count) = &*cell.borrow() {
                    count.set(count.get() + 1);
                }
            });
        });
        if submitted.wait_timeout(Duration::from_secs(5)).is_none() || handle.is_closed() {
            return;
        }
    });

    let mut app = App {
        looplet,
        window: None,
        seconds,
        submissions,
    };
    event_loop.run_app(&mut app)?;
    Ok(())
}

thread_local! {
    /// The loop thread's counter, for tasks built by `spawn_with`.
    static SUBMISSIONS: std::cell::RefCell<Option<Rc<Cell<u32>>>> =
        const { std::cell::RefCell::new(None) };
}
