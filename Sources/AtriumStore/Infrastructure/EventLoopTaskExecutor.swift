import NIOCore

/// Runs a task's jobs on one NIO event loop: the loop of the connection it talks to. A task
/// that prefers it (`withTaskExecutorPreference`) writes its statements from the loop's own
/// thread and is resumed there when the answer arrives, so a round trip to PostgreSQL costs no
/// hop between the loop's thread and the cooperative pool in either direction.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
