// Replays as a service: its own thread, with its own connection to the broker the gateway
// publishes to (`<client_id>-replay`, so replayed events never queue in front of live ones in
// libmosquitto or in the broker's in-flight window for the forwarder) and its own read-only
// connection to the history in buffer.db (so reading it never holds up the forwarder's thread).
// It subscribes to `{prefix}/{gateway}/replay/request`; the broker's ACL decides who may publish
// there, and so who may ask. Started after the forwarder and stopped before it. A second small
// thread checkpoints buffer.db's WAL: with a history every delivered event is written, and the
// fsync of a checkpoint must not happen on the forwarder's thread in the middle of live delivery.

import Logging
import SensorgateCore
import SensorgateMQTT
import SensorgateRuntime
import SensorgateStorage
import ServiceLifecycle

public struct ReplayService: Service {
    let settings: ReplaySettings
    let bufferPath: String
    let control: BoundedChannel<ReplayControl>
    let backlog: LiveBacklog
    let logger: Logger

    /// Requests taken between two turns of the loop; more are counted and dropped.
    static let inboxLimit = 64

    public init(settings: ReplaySettings, bufferPath: String, control: BoundedChannel<ReplayControl>, backlog: LiveBacklog,
                logger: Logger) {
        self.settings = settings
        self.bufferPath = bufferPath
        self.control = control
        self.backlog = backlog
        self.logger = logger
    }

    public func run() async throws {
        let (settings, bufferPath, control, backlog, logger) = (self.settings, self.bufferPath, self.control, self.backlog, self.logger)
        let stopCheckpoints = StopSignal()
        try await withGracefulShutdownHandler {
            async let checkpoints: Void = OwnedThread.run(name: "checkpoint") {
                ReplayService.checkpoint(bufferPath: bufferPath, until: stopCheckpoints, logger: logger)
            }
            try await OwnedThread.run(name: "replay") {
                // Live delivery first: when the CPU is short, the scheduler prefers the other threads.
                OwnedThread.setNiceness(10)
                ReplayService.loop(settings: settings, bufferPath: bufferPath, control: control, backlog: backlog, logger: logger)
            }
            stopCheckpoints.set()
            try await checkpoints
        } onGracefulShutdown: {
            control.force(.stop)
        }
    }

    static func loop(settings initial: ReplaySettings, bufferPath: String, control: BoundedChannel<ReplayControl>, backlog: LiveBacklog,
                     logger: Logger) {
        var settings = initial
        let reader: HistoryReader
        do {
            reader = try HistoryReader(path: bufferPath)
        } catch {
            logger.error("replays are off: cannot open the event history in \(bufferPath): \(error)")
            while true {
                control.readable.wait(timeout: nil)
                if control.take().contains(where: { if case .stop = $0 { return true } else { return false } }) { return }
            }
        }
        let inbox = BoundedChannel<[UInt8]>(capacity: inboxLimit, readable: control.readable)
        let overflow = Locked(0)
        let session = MQTTSession(options: settings.session, logger: logger)
        session.setSubscriptions([MQTTSession.Subscription(filter: ReplayTopics.request(base: settings.base)) { _, payload in
            if !inbox.trySend(payload) { overflow.withLock { $0 += 1 } }
        }])
        let runner = ReplayRunner(machine: ReplayStateMachine(settings: settings.machine()), reader: reader,
                                  sink: .session(session, qos: settings.mqtt.qos), backlog: backlog, logger: logger)
        var dropped = 0
        while true {
            control.readable.reset()
            for message in control.take() {
                switch message {
                case .stop:
                    runner.stop()
                case .reconfigure(let new):
                    settings = new
                    session.reconfigure(new.session)
                    session.setSubscriptions([MQTTSession.Subscription(filter: ReplayTopics.request(base: new.base)) { _, payload in
                        if !inbox.trySend(payload) { overflow.withLock { $0 += 1 } }
                    }])
                    runner.reconfigure(new.machine())
                }
            }
            for payload in inbox.take() { runner.requestReceived(payload) }
            let (wake, finished) = runner.work()
            for report in runner.takeFinished() { log(report, logger: logger) }
            if finished {
                session.close()
                return
            }
            let lost = overflow.value
            if lost > dropped {
                logger.warning("\(lost - dropped) replay request(s) arrived faster than they could be taken and were dropped (\(lost) so far)")
                dropped = lost
            }
            for event in session.poll(wakeFDs: [control.readable.fd], until: inbox.isEmpty ? wake : MQTTSession.now()) {
                runner.handle(event)
            }
        }
    }

    /// Checkpoints the WAL whenever it has grown past 1 MB, in small steps that catch up with the
    /// forwarder's writes (OfflineBuffer.walPagesWithHistory): passive, so it never waits for the
    /// forwarder; the fsync blocks only this thread.
    static func checkpoint(bufferPath: String, until stop: StopSignal, logger: Logger) {
        guard let reader = try? HistoryReader(path: bufferPath) else { return }
        var failures = 0
        while stop.sleep(for: .milliseconds(100)) {
            do {
                try reader.checkpointIfDue()
                failures = 0
            } catch {
                failures += 1
                if failures == 1 { logger.warning("cannot checkpoint \(bufferPath): \(error); the forwarder does it when the WAL reaches 16 MB") }
            }
        }
    }

    static func log(_ report: ReplayStateMachine.Report, logger: Logger) {
        let seqs = report.firstSeq.map { first in " (seq \(first) to \(report.lastSeq ?? first))" } ?? ""
        let reason = report.reason.map { ": \($0)" } ?? ""
        switch report.status {
        case .complete, .partial:
            logger.notice("replay \(report.id): \(report.status.rawValue), \(report.sent) event(s)\(seqs)\(reason)", metadata: ["replay": "\(report.id)"])
        case .refused:
            logger.warning("replay request \(report.id) refused\(reason)", metadata: ["replay": "\(report.id)"])
        case .aborted:
            logger.notice("replay \(report.id) aborted after \(report.sent) event(s)\(reason)", metadata: ["replay": "\(report.id)"])
        }
    }
}
