import Testing
import SensorgateCore

/// The replay policy, one transition at a time, with the history and the broker in memory.
@Suite struct ReplayStateMachineTests {
    typealias Machine = ReplayStateMachine

    static func row(_ seq: UInt64, type: String = "TemperatureReading", subject: String = "cpu", time: Int64? = nil) -> OutboundEvent {
        OutboundEvent(seq: seq, topic: "sg/gw/\(type)/\(subject)", payload: Array(#"{"seq":\#(seq)}"#.utf8), time: time ?? Int64(seq) * 1000,
                      type: type, subject: subject)
    }

    static func request(_ json: String) -> [UInt8] { Array(json.utf8) }

    func machine(rate: Int? = nil, maxEvents: Int = 1_000, window: Int = 20, readLimit: Int = 256,
                 target: Machine.Target = .replayTopics) -> Machine {
        var s = Machine.Settings(base: "sg/gw", target: target, rate: rate, maxEvents: maxEvents)
        s.window = window
        s.readLimit = readLimit
        var m = Machine(settings: s)
        m.connected(at: 0)
        return m
    }

    /// The history in memory, answering the machine's actions; the broker acknowledges at once.
    struct Harness {
        var machine: Machine
        var rows: [OutboundEvent]
        var published: [Machine.Message] = []
        var autoAck = true
        var now: Int64 = 0

        var bounds: HistoryBounds { HistoryBounds(oldest: rows.first?.seq, newest: rows.last?.seq) }

        mutating func run(maxSteps: Int = 10_000) {
            for _ in 0..<maxSteps {
                switch machine.nextAction(at: now) {
                case .inspect(let q):
                    var span: HistoryTimeSpan? = nil
                    if q.isTimeWindow {
                        let hits = rows.filter { $0.time >= (q.since ?? .min) && $0.time < (q.until ?? .max) }
                        span = HistoryTimeSpan(count: hits.count, first: hits.first?.seq, last: hits.last?.seq)
                    }
                    machine.inspected(bounds: bounds, span: span, oldestTime: rows.first?.time, at: now)
                case .read(let after, let through, let q, let limit):
                    let hits = rows.filter {
                        $0.seq > after && $0.seq <= through && $0.time >= (q.since ?? .min) && $0.time < (q.until ?? .max)
                            && (q.type == nil || $0.type == q.type) && (q.subject == nil || $0.subject == q.subject)
                    }
                    machine.rowsRead(Array(hits.prefix(limit)), limit: limit, oldest: rows.first?.seq)
                case .publish(let messages):
                    published += messages
                    if autoAck { for m in messages { if let seq = m.seq { machine.acknowledged(seq: seq) } } }
                case .finished, .idle:
                    return
                }
            }
        }

        var events: [Machine.Message] { published.filter { $0.seq != nil } }
        var dones: [String] { published.filter { $0.seq == nil }.map { String(decoding: $0.payload, as: UTF8.self) } }
        var reports: [Machine.Report] { machine.finished }
    }

    func harness(_ m: Machine, seqs: ClosedRange<UInt64> = 1...500) -> Harness {
        Harness(machine: m, rows: seqs.map { Self.row($0) })
    }

    @Test func servesExactlyTheRangeInOrderThenDone() {
        var h = harness(machine())
        h.machine.requestReceived(Self.request(#"{"id":"gap","from_seq":100,"to_seq":200}"#))
        h.run()
        #expect(h.events.map(\.seq) == Array(100...200).map { Optional($0) })
        #expect(h.events.first?.topic == "sg/gw/replay/gap/TemperatureReading/cpu")
        #expect(h.events.first.map { String(decoding: $0.payload, as: UTF8.self) } == #"{"seq":100,"replay":"gap"}"#)
        #expect(h.published.last?.topic == "sg/gw/replay/gap/done")
        #expect(h.dones == [#"{"id":"gap","status":"complete","sent":101,"first_seq":100,"last_seq":200,"missing":0,"pruned":null,"history":{"oldest_seq":1,"newest_seq":500},"requested":{"from_seq":100,"to_seq":200},"reason":null}"#])
    }

    @Test func theDoneWaitsForEveryPubackOfTheReplay() {
        var h = harness(machine(window: 5))
        h.autoAck = false
        h.machine.requestReceived(Self.request(#"{"id":"w","from_seq":1,"to_seq":3}"#))
        h.run()
        #expect(h.events.count == 3)
        #expect(h.dones.isEmpty)
        h.machine.acknowledged(seq: 1)
        h.machine.acknowledged(seq: 3)
        h.run()
        #expect(h.dones.isEmpty)
        h.machine.acknowledged(seq: 2)
        h.run()
        #expect(h.reports.first?.sent == 3)
        #expect(h.dones.count == 1)
    }

    @Test func atMostTheWindowIsInFlight() {
        var h = harness(machine(window: 4))
        h.autoAck = false
        h.machine.requestReceived(Self.request(#"{"id":"w","from_seq":1,"to_seq":50}"#))
        h.run()
        #expect(h.events.count == 4)
        h.machine.acknowledged(seq: 1)
        h.run()
        #expect(h.events.map(\.seq) == [1, 2, 3, 4, 5])
    }

    @Test func theRateLimitPacesPublishing() {
        var h = harness(machine(rate: 100, window: 1_000))  // burst 10
        h.machine.requestReceived(Self.request(#"{"id":"r","from_seq":1,"to_seq":300}"#))
        h.run()
        #expect(h.events.count == 10)
        guard case .idle(let until?) = h.machine.nextAction(at: 0) else { Issue.record("not pacing"); return }
        #expect(until == 10)
        for t in stride(from: Int64(10), through: 1_000, by: 10) {
            h.now = t
            h.run()
        }
        #expect(h.events.count == 110)  // 10 at once, then 100 a second
        h.now = 3_000
        h.run()
        #expect(h.events.count == 120)  // idle time saves up no more than the burst
    }

    @Test func aGapJustSeenWaitsForTheHistoryToCatchUp() {
        var h = harness(machine(), seqs: 1...100)
        h.machine.requestReceived(Self.request(#"{"id":"fresh","from_seq":95,"to_seq":103}"#))
        h.run()
        #expect(h.events.isEmpty)  // 101-103 are not kept yet: look again in 100 ms
        #expect(h.machine.nextAction(at: 0) == .idle(until: 100))
        h.rows += (101...103).map { Self.row($0) }  // the group commit landed
        h.now = 100
        h.run()
        #expect(h.events.map(\.seq) == Array(95...103).map { Optional($0) })
        #expect(h.reports.first?.status == .complete)
        // Not forever: after a second, what is there is sent and the rest named.
        h.machine.requestReceived(Self.request(#"{"id":"future","from_seq":100,"to_seq":200}"#))
        for t in stride(from: Int64(100), through: 1_200, by: 100) {
            h.now = t
            h.run()
        }
        #expect(h.reports.last?.status == .partial)
        #expect(h.reports.last?.reason == "seq 104 to 200 are not in the history yet (not delivered, or not emitted yet)")
    }

    @Test func prunedSeqsMakeAPartialReplayThatSaysWhich() {
        var h = harness(machine(), seqs: 51...500)
        h.machine.requestReceived(Self.request(#"{"id":"p","from_seq":1,"to_seq":60}"#))
        h.run()
        #expect(h.events.map(\.seq) == Array(51...60).map { Optional($0) })
        let report = h.reports[0]
        #expect(report.status == .partial)
        #expect(report.prunedFrom == 1 && report.prunedTo == 50)
        #expect(report.missing == 0)
        #expect(report.reason == "seq 1 to 50 were pruned")
    }

    @Test(arguments: [
        (#"{"id":"x","from_seq":1,"to_seq":40}"#, "seq 1 to 40 were pruned: the history holds seq 51 to 500"),
        (#"{"id":"x","from_seq":501}"#, "nothing to replay: from_seq 501 is above the newest delivered event; the history holds seq 51 to 500"),
        (#"{"id":"x","from_seq":51,"to_seq":500}"#, "the request covers 450 events of history (seq 51 to 500); at most 100 per request"),
        (#"{"id":"x","since":"2030-01-01T00:00:00Z"}"#, "no kept event has a time in the window"),
    ])
    func requestsBeyondTheHistoryOrTooLargeAreRefusedWithTheReason(json: String, reason: String) {
        var h = harness(machine(maxEvents: 100), seqs: 51...500)
        h.machine.requestReceived(Self.request(json))
        h.run()
        #expect(h.events.isEmpty)
        #expect(h.reports.first?.status == .refused)
        #expect(h.reports.first?.reason?.hasPrefix(reason) == true, "\(h.reports.first?.reason ?? "")")
        #expect(h.published.map(\.topic) == ["sg/gw/replay/x/done"])
    }

    @Test func aMalformedRequestIsAnsweredOnItsIDOrOnInvalid() {
        var h = harness(machine())
        h.machine.requestReceived(Self.request("{nope"))
        h.machine.requestReceived(Self.request(#"{"id":"m","from_seq":"x"}"#))
        h.run()
        #expect(h.published.map(\.topic) == ["sg/gw/replay/_invalid/done", "sg/gw/replay/m/done"])
        #expect(h.reports.map(\.status) == [.refused, .refused])
    }

    @Test func anEmptyHistoryRefuses() {
        var h = Harness(machine: machine(), rows: [])
        h.machine.requestReceived(Self.request(#"{"id":"e","from_seq":1}"#))
        h.run()
        #expect(h.reports.first?.reason == "the history holds no event yet (nothing delivered since it was turned on)")
    }

    @Test func requestsWaitTheirTurnAndTooManyAreBusy() {
        var m = machine()
        m.connected(at: 0)
        var h = harness(m)
        h.autoAck = false
        h.machine.requestReceived(Self.request(#"{"id":"q0","from_seq":1,"to_seq":2}"#))
        h.run()
        for i in 1..<10 { h.machine.requestReceived(Self.request(#"{"id":"q\#(i)","from_seq":1,"to_seq":2}"#)) }
        h.machine.requestReceived(Self.request(#"{"id":"q1","from_seq":1,"to_seq":2}"#))
        h.run()
        // q0 runs; q1..q8 wait; q9 is refused as busy, the second q1 as a duplicate.
        let refused = h.reports.filter { $0.status == .refused }
        #expect(refused.map(\.id) == ["q9", "q1"])
        #expect(refused[0].reason?.hasPrefix("busy") == true)
        #expect(refused[1].reason?.contains("already running or waiting") == true)
        h.autoAck = true
        for seq: UInt64 in [1, 2] { h.machine.acknowledged(seq: seq) }
        h.run()
        #expect(h.reports.filter { $0.status == .complete }.map(\.id) == (0..<9).map { "q\($0)" })
        #expect(h.events.count == 18)
    }

    @Test func filtersAndTimeWindows() {
        var h = Harness(machine: machine(), rows: (1...100).map { Self.row($0, subject: $0 % 2 == 0 ? "even" : "odd") })
        h.machine.requestReceived(Self.request(#"{"id":"f","from_seq":10,"to_seq":20,"subject":"even"}"#))
        h.machine.requestReceived(Self.request(#"{"id":"t","since":"1970-01-01T00:00:30Z","until":"1970-01-01T00:00:35Z"}"#))
        h.run()
        #expect(h.events.filter { $0.id == "f" }.map(\.seq) == [10, 12, 14, 16, 18, 20])
        #expect(h.events.filter { $0.id == "t" }.map(\.seq) == [30, 31, 32, 33, 34])
        #expect(h.reports.map(\.missing) == [nil, nil])  // unknowable with filters and windows
        #expect(h.reports[1].firstSeq == 30 && h.reports[1].lastSeq == 34)
    }

    @Test func gapsInTheHistoryAreCountedAsMissing() {
        var h = Harness(machine: machine(), rows: (1...100).filter { $0 % 10 != 0 }.map { Self.row($0) })
        h.machine.requestReceived(Self.request(#"{"id":"g","from_seq":1,"to_seq":50}"#))
        h.run()
        #expect(h.reports[0].sent == 45)
        #expect(h.reports[0].missing == 5)
        #expect(h.reports[0].status == .complete)
    }

    @Test func aLostConnectionGoesOnFromTheOldestUnacknowledged() {
        var h = harness(machine(window: 5))
        h.autoAck = false
        h.machine.requestReceived(Self.request(#"{"id":"c","from_seq":1,"to_seq":12}"#))
        h.run()
        h.machine.acknowledged(seq: 1)
        h.machine.acknowledged(seq: 2)
        h.machine.connectionLost(at: 1)
        h.published.removeAll()
        h.run()
        #expect(h.published.isEmpty)  // nothing while disconnected
        h.machine.connected(at: 2)
        h.autoAck = true
        h.run()
        #expect(h.events.map(\.seq) == Array(3...12).map { Optional($0) })
        #expect(h.reports[0].sent == 12)
        #expect(h.reports[0].status == .complete)
    }

    @Test func rowsPrunedWhileReplayingAreReported() {
        var h = harness(machine(readLimit: 10))
        h.machine.requestReceived(Self.request(#"{"id":"pr","from_seq":1,"to_seq":100}"#))
        // The first read sees the whole history; before the second one, 1-30 are pruned.
        guard case .inspect = h.machine.nextAction(at: 0) else { Issue.record("no inspect"); return }
        h.machine.inspected(bounds: h.bounds, span: nil, oldestTime: 1000)
        guard case .read(0, 100, _, 10) = h.machine.nextAction(at: 0) else { Issue.record("no read"); return }
        h.machine.rowsRead((1...10).map { Self.row($0) }, limit: 10, oldest: 1)
        h.rows.removeFirst(30)
        h.run()
        let report = h.reports[0]
        #expect(report.status == .partial)
        #expect(report.prunedFrom == 11 && report.prunedTo == 30)
        #expect(report.sent == 80)
        #expect(report.missing == 0)
        #expect(report.reason == "pruned while replaying: seq 11 to 30")
    }

    @Test func stoppingAbortsWhatIsLeftAndFinishes() {
        var h = harness(machine(window: 2))
        h.autoAck = false
        h.machine.requestReceived(Self.request(#"{"id":"s1","from_seq":1,"to_seq":10}"#))
        h.machine.requestReceived(Self.request(#"{"id":"s2","from_seq":1,"to_seq":10}"#))
        h.run()
        h.machine.stop(at: 0)
        #expect(h.machine.nextAction(at: 100) == .idle(until: nil))  // waits for the 2 in flight
        h.machine.acknowledged(seq: 1)
        h.machine.acknowledged(seq: 2)
        h.run()
        #expect(h.reports.map(\.status) == [.aborted, .aborted])
        #expect(h.reports[0].sent == 2)
        #expect(h.dones.count == 2)
        #expect(h.machine.nextAction(at: 100) == .idle(until: nil))
        var late = harness(machine())
        late.machine.stop(at: 0)
        late.machine.requestReceived(Self.request(#"{"id":"l","from_seq":1}"#))
        late.run()
        #expect(late.reports.first?.reason == "the gateway is stopping; ask again once it is back")
    }

    @Test func aBrokerThatRefusesReplaysIsNamed() {
        var h = harness(machine())
        h.autoAck = false
        h.machine.requestReceived(Self.request(#"{"id":"acl","from_seq":1,"to_seq":2}"#))
        h.run()
        h.machine.acknowledged(seq: 1, refusal: 0x87)
        h.machine.acknowledged(seq: 2, refusal: 0x87)
        h.run()
        #expect(h.reports[0].sent == 0)
        #expect(h.reports[0].missing == 0)
        #expect(h.reports[0].reason?.contains("ACL must let the gateway publish to sg/gw/replay/#") == true)
    }

    @Test func liveTopicsAndPrintTargets() {
        var live = harness(machine(target: .liveTopics))
        live.machine.submit(ReplayRequest(id: "cli-1", query: ReplayQuery(fromSeq: 5, toSeq: 6)))
        live.run()
        #expect(live.published.map(\.topic) == ["sg/gw/TemperatureReading/cpu", "sg/gw/TemperatureReading/cpu"])
        #expect(String(decoding: live.published[0].payload, as: UTF8.self) == #"{"seq":5,"replay":"cli-1"}"#)
        var print = harness(Machine(settings: .init(base: "sg/gw", target: .print, rate: nil, maxEvents: .max)))
        print.machine.submit(ReplayRequest(id: "p", query: ReplayQuery(fromSeq: 1)))
        print.run()
        #expect(print.published.count == 500)
        #expect(String(decoding: print.published[0].payload, as: UTF8.self) == #"{"seq":1}"#)
        #expect(print.reports.first?.status == .complete)
    }
}
