// `edge` format: GPIO line edges as the kernel reports them (gpio_v2_line_event.id:
// 1 = rising, 2 = falling, on the physical level). `active_low` inverts them here, in one place,
// so a PIR wired to pull the line low on motion reads as a rising (active) edge.

enum EdgeParser {
    static func logical(physical: LineEdge, activeLow: Bool) -> LineEdge {
        activeLow ? (physical == .rising ? .falling : .rising) : physical
    }

    static func parse(physical: LineEdge, selection: EdgeSelection, activeLow: Bool) -> RawReading {
        let logical = logical(physical: physical, activeLow: activeLow)
        switch selection {
        case .both: return .motion
        case .rising: return logical == .rising ? .motion : .idle
        case .falling: return logical == .falling ? .motion : .idle
        }
    }
}
