// `sensorgate buffer stats`: the offline buffer's state, read from its file (safe while the
// gateway runs: WAL lets a reader in beside the writer).

import SensorgateCore
import SensorgateStorage

public enum BufferInspection {
    public static func statsJSON(config: GatewayConfig) throws -> String {
        let path = Paths.join(config.gateway.stateDir, "buffer.db")
        guard FileSystem.mode(path) != nil else {
            return OfflineBuffer.Stats.empty.json
        }
        return try OfflineBuffer.stats(path: path).json
    }
}
