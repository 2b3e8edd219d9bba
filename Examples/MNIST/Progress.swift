import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Training progress: a live bar redrawn in place on a terminal, plain periodic lines otherwise
/// (a log file, CI).
struct Progress {
  let epochs: Int
  let batches: Int
  let isTerminal = isatty(STDOUT_FILENO) != 0
  /// Plain lines every this many batches when not on a terminal.
  let lineEvery = 100
  private var start = Date()
  private var lastDraw = Date.distantPast

  init(epochs: Int, batches: Int) {
    self.epochs = epochs
    self.batches = batches
  }

  mutating func startEpoch() {
    start = Date()
    lastDraw = .distantPast
  }

  /// After batch `batch` (1-based) of `epoch` (1-based).
  mutating func update(
    epoch: Int, batch: Int, samples: Int, loss: Double, accuracy: Double
  ) {
    let elapsed = Date().timeIntervalSince(start)
    let rate = elapsed > 0 ? Double(samples) / elapsed : 0
    let eta = batch > 0 ? elapsed / Double(batch) * Double(batches - batch) : 0
    let stats = String(
      format: "loss %.4f  acc %.4f  %6.0f samples/s  ETA %@", loss, accuracy, rate,
      Progress.clock(eta))
    if isTerminal {
      let now = Date()
      guard batch == batches || now.timeIntervalSince(lastDraw) > 0.1 else { return }
      lastDraw = now
      let width = 24
      let filled = batches > 0 ? width * batch / batches : width
      let bar =
        String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
      print(
        "\r\u{1B}[Kepoch \(epoch)/\(epochs) [\(bar)] \(batch)/\(batches)  \(stats)",
        terminator: batch == batches ? "\n" : "")
      fflush(nil)
    } else if batch % lineEvery == 0 || batch == batches {
      print("epoch \(epoch)/\(epochs) batch \(batch)/\(batches)  \(stats)")
      fflush(nil)
    }
  }

  static func clock(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return String(format: "%d:%02d", s / 60, s % 60)
  }
}
