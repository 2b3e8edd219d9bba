import EmberData
import EmberNN
import EmberOptim
import Foundation
import Testing

/// Long runs keep memory flat: 10,000 SGD steps of the MNIST MLP (784-512-256-10) end with the
/// resident set, the live storages and the live graph nodes where they were after warm-up, and an
/// evaluation loop under no-grad creates no graph node at all.
///
/// The counts are process-wide and other suites run beside this one, so each run happens in a
/// child process (an exit test) that writes its figures to standard error; the parent checks
/// them. Figures are recorded in docs/reliability.md ("## Memory").
@Suite struct MemoryTests {
  /// Under AddressSanitizer freed blocks wait in its quarantine (256 MB by default) instead of
  /// being reused, so the resident set grows by design; the counts are still checked there.
  static let residentSetIsMeaningful: Bool =
    dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") == nil

  /// Resident set size in bytes (`/proc/self/statm`, second field, in pages).
  static func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else {
      return -1
    }
    let fields = text.split(separator: " ")
    return (Int(fields[1]) ?? -1) * Int(sysconf(Int32(_SC_PAGESIZE)))
  }

  /// Parses the child's `key=value` lines.
  static func figures(_ text: String) -> [String: Int] {
    var out: [String: Int] = [:]
    for line in text.split(separator: "\n") {
      let parts = line.split(separator: "=")
      if parts.count == 2, let v = Int(parts[1]) { out[String(parts[0])] = v }
    }
    return out
  }

  /// One snapshot of what the process holds.
  struct Snapshot {
    let rss: Int
    let storages: Int
    let nodes: Int
    static func now() -> Snapshot {
      Snapshot(rss: residentBytes(), storages: Storage.liveCount, nodes: Node.liveCount)
    }
  }

  @Test func tenThousandTrainingStepsKeepMemoryFlat() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      let g = Generator(seed: 7)
      // synthetic MNIST-shaped data: 512 images in [0, 1), a learnable label (the first
      // pixel's tenth, 0..<10)
      let pixels = Tensor.rand([512, 784], generator: g)
      let labels = (pixels.narrow(1, start: 0, length: 1).squeeze(1) * 10).floor().to(.int64)
      // normalized as MNIST's pixels are (mean 0, standard deviation 1). On the raw [0, 1)
      // pixels this SGD sits at the edge of stability: PyTorch's own run swings between 1.2
      // and 1.9 after step 800 and a last-bit change in exp decides whether Ember's
      // 10,000-step run ends at 0.56 or 2.45 (both first diverge from PyTorch's losses only
      // after step 800). Normalized, PyTorch's loss falls steadily to 0.0006 by step 1,600.
      let images = (pixels - 0.5) / 0.2887
      manualSeed(0)
      let net = Sequential(
        Linear(784, 512), ReLU(), Linear(512, 256), ReLU(), Linear(256, 10))
      let opt = SGD(net.namedParameters(), lr: 0.01, momentum: 0.9)
      let loader = DataLoader(
        TensorDataset(images, labels), batchSize: 8, shuffle: true, generator: g)
      // EMBER_MEMORY_STEPS shortens the run for a quick look (the test's figure is 10,000)
      let steps =
        ProcessInfo.processInfo.environment["EMBER_MEMORY_STEPS"].flatMap { Int($0) } ?? 10_000
      let warmUp = min(500, steps / 4)
      let progressPath = ProcessInfo.processInfo.environment["EMBER_MEMORY_PROGRESS"]
      var step = 0
      var warm: Snapshot?
      var peakRSS = 0
      var maxStorageDrift = 0
      var maxNodeDrift = 0
      var firstLoss = 0.0
      var lastLoss = 0.0
      let start = Date()
      while step < steps {
        for (x, y) in loader {
          let loss = F.crossEntropy(net(x), y)
          opt.zeroGrad()
          try! loss.backward()
          try! opt.step()
          step += 1
          // mean losses of the first and the last 100 steps
          if step <= 100 { firstLoss += loss.item() / 100 }
          if step > steps - 100 { lastLoss += loss.item() / 100 }
          if step == warmUp { warm = Snapshot.now() }
          if step % 1000 == 0, let path = progressPath {
            // EMBER_MEMORY_PROGRESS names a file that gets a line per 1000 steps while it runs
            let line = "step \(step) rss \(MemoryTests.residentBytes()) at \(Date())\n"
            if let h = FileHandle(forWritingAtPath: path) {
              h.seekToEndOfFile()
              h.write(line.data(using: .utf8)!)
              try? h.close()
            }
          }
          if let warm, step % 250 == 0 {
            let s = Snapshot.now()
            peakRSS = max(peakRSS, s.rss)
            maxStorageDrift = max(maxStorageDrift, abs(s.storages - warm.storages))
            maxNodeDrift = max(maxNodeDrift, abs(s.nodes - warm.nodes))
          }
          if step == steps { break }
        }
      }
      let end = Snapshot.now()
      let w = warm!
      let report = [
        "steps=\(steps)", "warmRSS=\(w.rss)", "endRSS=\(end.rss)", "peakRSS=\(peakRSS)",
        "warmStorages=\(w.storages)", "endStorages=\(end.storages)",
        "maxStorageDrift=\(maxStorageDrift)", "warmNodes=\(w.nodes)", "endNodes=\(end.nodes)",
        "maxNodeDrift=\(maxNodeDrift)", "firstLossMilli=\(Int(firstLoss * 1000))",
        "lastLossMilli=\(Int(lastLoss * 1000))",
        "seconds=\(Int(Date().timeIntervalSince(start)))",
      ]
      FileHandle.standardError.write((report.joined(separator: "\n") + "\n").data(using: .utf8)!)
    }
    let text = stderrText(result)
    print("memory (training):\n\(text)")
    let f = Self.figures(text)
    let warmRSS = f["warmRSS"]
    let peakRSS = f["peakRSS"]
    #expect(warmRSS != nil && peakRSS != nil, "no resident-set figures: \(text)")
    if let warmRSS, let peakRSS, Self.residentSetIsMeaningful {
      // "flat": at most 4 MB above the resident set after warm-up, at every checkpoint
      #expect(peakRSS - warmRSS <= 4 << 20, "resident set grew by \(peakRSS - warmRSS) bytes")
    }
    #expect(f["maxStorageDrift"] == 0, "live storages changed: \(text)")
    #expect(f["maxNodeDrift"] == 0, "live graph nodes changed: \(text)")
    // samples are taken while the step's loss (and its 16-node graph) is alive; once the loop
    // ends at most the six parameters' gradient accumulators may stay
    #expect((f["endNodes"] ?? 99) <= 6, "graph nodes alive after the loop: \(text)")
    // the run trained: the mean loss of the last 100 steps is below a tenth of the first 100's
    if let first = f["firstLossMilli"], let last = f["lastLossMilli"] {
      #expect(last * 10 < first, "loss \(first) -> \(last) (x1000)")
    }
  }

  @Test func evaluationUnderNoGradKeepsNoGraph() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      let g = Generator(seed: 8)
      let images = Tensor.rand([64, 784], generator: g)
      manualSeed(1)
      let net = Sequential(
        Linear(784, 512), ReLU(), Linear(512, 256), ReLU(), Linear(256, 10))
      net.eval()
      var correct = 0
      _ = withNoGrad { net(images) }  // warm-up
      let before = Snapshot.now()
      let created = Node.createdCount
      var peakRSS = 0
      for k in 0..<2_000 {
        withNoGrad {
          let x = images.narrow(0, start: (k * 8) % 64, length: 8)
          let out = net(x)
          precondition(!out.requiresGrad && out.gradFn == nil, "history recorded under no-grad")
          correct += Int(out.argmax(dim: 1).sum().item())
        }
        if k % 100 == 0 { peakRSS = max(peakRSS, MemoryTests.residentBytes()) }
      }
      let after = Snapshot.now()
      let report = [
        "passes=2000", "createdNodes=\(Node.createdCount - created)",
        "nodesBefore=\(before.nodes)", "nodesAfter=\(after.nodes)",
        "storagesBefore=\(before.storages)", "storagesAfter=\(after.storages)",
        "warmRSS=\(before.rss)", "peakRSS=\(peakRSS)", "checksum=\(correct)",
      ]
      FileHandle.standardError.write((report.joined(separator: "\n") + "\n").data(using: .utf8)!)
    }
    let text = stderrText(result)
    print("memory (evaluation):\n\(text)")
    let f = Self.figures(text)
    #expect(f["createdNodes"] == 0, "nodes created under no-grad: \(text)")
    #expect(f["nodesBefore"] == 0 && f["nodesAfter"] == 0, "\(text)")
    #expect(f["storagesAfter"] == f["storagesBefore"], "\(text)")
    if let warm = f["warmRSS"], let peak = f["peakRSS"], Self.residentSetIsMeaningful {
      let grew: Int = peak - warm
      #expect(grew <= 4 << 20, "resident set grew by \(grew) bytes")
    }
  }
}
