import Ember
import Foundation
import Synchronization
import Testing

/// Property-based checks of every differentiable op: random shapes (0-d, size-1 and size-0 dims,
/// broadcasting), random layouts (transposed, narrowed with a storage offset, strided, expanded)
/// and random values. Each case checks
/// - the forward against a float64 reference written naively here (when the op has one),
/// - layout invariance: the op on contiguous copies of its inputs gives the same values,
/// - float32 against float64 (PyTorch-like tolerance),
/// - the backward with gradcheck, and (smooth ops, every third case) the double backward with
///   gradgradcheck, both with PyTorch's tolerances.
///
/// A failure names the op, the case's seed, its shapes and layouts, and the command that replays
/// it. The run is deterministic; `EMBER_PROPERTY_SEED=<n>` draws other cases,
/// `EMBER_PROPERTY_REPLAY=<op>:<seed>` reruns one case, `EMBER_PROPERTY_SCALE=<x>` scales the
/// number of cases. Each op runs in a child process that names every case on its stderr before
/// running it, so a trap fails that op's test with the seed of the case that trapped.
@Suite struct PropertyGradientTests {
  static let catalog: [OpProperty] =
    PropertyCatalog.elementwise + PropertyCatalog.reductions + PropertyCatalog.shapes
    + PropertyCatalog.linearAlgebra + PropertyCatalog.nn

  static let environment = ProcessInfo.processInfo.environment
  static let baseSeed: UInt64 = environment["EMBER_PROPERTY_SEED"].flatMap { UInt64($0) } ?? 0x5EED
  static let scale: Double = environment["EMBER_PROPERTY_SCALE"].flatMap { Double($0) } ?? 1
  static let replay: (name: String, seed: UInt64)? = {
    guard let r = environment["EMBER_PROPERTY_REPLAY"], let colon = r.lastIndex(of: ":"),
      let seed = UInt64(r[r.index(after: colon)...])
    else { return nil }
    return (String(r[..<colon]), seed)
  }()

  static let total = Mutex<(cases: Int, ops: Int)>((0, 0))

  /// Each op's cases run in a child process (an exit test), so a trap in one op fails that op's
  /// test by name, with the seed of the case that trapped, and the other ops still run.
  @Test(arguments: catalog) func gradients(_ property: OpProperty) async {
    let name: String = property.name
    if Self.environment["EMBER_PROPERTY_IN_PROCESS"] == "1" {
      // debugging: the cases run here, a trap ends the run
      var builderFailures: [String] = []
      let seeds =
        Self.replay.map { $0.name == name ? [$0.seed] : [] }
        ?? (0..<Swift.max(1, Int(Double(property.cases) * Self.scale))).map {
          PropertyRNG.caseSeed(base: Self.baseSeed, name: name, index: $0)
        }
      for (i, seed) in seeds.enumerated() {
        var b = CaseBuilder(seed: seed)
        let notes = property.make(&b).notes.joined(separator: "; ")
        FileHandle.standardError.write(Data("case \(name) seed \(seed): \(notes)\n".utf8))
        if let p = Self.check(property, seed: seed, secondOrder: i % 3 == 0) {
          builderFailures.append("seed \(seed): \(p)")
          break
        }
      }
      for f in builderFailures { Issue.record(Comment(rawValue: f)) }
      return
    }
    let path: String = ChildLog.makePath("property-" + name)
    let result = await #expect(processExitsWith: .success) {
      [name = name as String, path = path as String] in
      ChildLog.redirect(to: path)
      PropertyGradientTests.runInChild(name)
    }
    let out = ChildLog.read(path)
    let err = out
    let marker = "property-count \(name) "
    let count =
      out.split(separator: "\n").first { $0.hasPrefix(marker) }
      .flatMap { Int($0.dropFirst(marker.count)) } ?? 0
    if result == nil {
      let lines = err.split(separator: "\n")
      let failures = lines.filter { $0.hasPrefix("FAIL ") }
      if failures.isEmpty {
        // the child trapped: the last case it started is the one
        let last = lines.last { $0.hasPrefix("case seed ") }
        let seed = last.map { String($0.dropFirst("case seed ".count)) } ?? "<seed>"
        let trap =
          lines.first {
            $0.contains("Fatal error") || $0.contains("Precondition failed")
              || $0.contains("Assertion failed")
          }.map(String.init) ?? lines.suffix(20).joined(separator: "\n")
        Issue.record(
          Comment(
            rawValue:
              "property \(name) trapped at \(last ?? "start-up")\n  replay: EMBER_PROPERTY_REPLAY=\(name):\(seed) EMBER_PROPERTY_IN_PROCESS=1 swift test --filter PropertyGradientTests\n  \(trap)"
          ))
      } else {
        for f in failures {
          Issue.record(
            Comment(rawValue: String(f.dropFirst(5)).replacingOccurrences(of: "\u{1}", with: "\n")))
        }
      }
    }
    if result != nil {
      #expect(count > 0 || Self.replay != nil, "property \(name) ran no cases")
    }
    let (cases, ops) = Self.total.withLock { t in
      t.cases += count
      t.ops += 1
      return t
    }
    print("property \(name): \(count) cases")
    if ops == Self.catalog.count { print("property cases: \(cases) (\(ops) ops)") }
  }

  /// The child's side: runs every case of `name`, naming each on stderr before it starts.
  static func runInChild(_ name: String) {
    let property = catalog.first { $0.name == name }!
    var seeds: [UInt64]
    if let replay {
      seeds = replay.name == name ? [replay.seed] : []
    } else {
      let n = Swift.max(1, Int(Double(property.cases) * scale))
      seeds = (0..<n).map { PropertyRNG.caseSeed(base: baseSeed, name: name, index: $0) }
    }
    var failures = 0
    var ran = 0
    for (i, seed) in seeds.enumerated() {
      ran += 1
      FileHandle.standardError.write(Data("case seed \(seed)\n".utf8))
      if let problem = check(property, seed: seed, secondOrder: i % 3 == 0) {
        failures += 1
        let message =
          "property \(name), seed \(seed): \(problem)\n  replay: EMBER_PROPERTY_REPLAY=\(name):\(seed) swift test --filter PropertyGradientTests"
        FileHandle.standardError.write(
          Data(("FAIL " + message.replacingOccurrences(of: "\n", with: "\u{1}") + "\n").utf8))
        if failures >= 3 { break }
      }
    }
    FileHandle.standardOutput.write(Data("property-count \(name) \(ran)\n".utf8))
    exit(failures == 0 ? 0 : 1)
  }

  /// Nil when the case passes; otherwise what failed, with the case's shapes and layouts.
  static func check(_ property: OpProperty, seed: UInt64, secondOrder: Bool) -> String? {
    var builder = CaseBuilder(seed: seed)
    let c = property.make(&builder)
    let context = "\n  " + c.notes.joined(separator: "\n  ")
    let views = c.inputs.map(\.view)
    let out = c.op(views)
    if !out.dtype.isFloatingPoint { return "output dtype \(out.dtype)" + context }
    let values = out.toArray()
    if let reference = c.reference {
      let want = reference(views.map(NaiveArray.init))
      if out.shape != want.shape { return "shape \(out.shape), reference \(want.shape)" + context }
      if let m = mismatch(values, want.values, rtol: 1e-9, atol: 1e-12) {
        return "forward differs from the float64 reference: \(m)" + context
      }
    }
    let plain = withNoGrad { c.op(views.map { $0.contiguous() }) }
    if plain.shape != out.shape { return "contiguous inputs give shape \(plain.shape)" + context }
    if let m = mismatch(plain.toArray(), values, rtol: 1e-12, atol: 1e-14) {
      return "contiguous inputs give other values: \(m)" + context
    }
    if let tol = c.float32Tolerance {
      let low = withNoGrad { c.op(views.map { $0.to(.float32) }) }
      if low.dtype != .float32 { return "float32 inputs give \(low.dtype)" + context }
      if let m = mismatch(low.toArray(), values, rtol: tol, atol: tol) {
        return "float32 differs from float64: \(m)" + context
      }
    }
    let bases = c.inputs.map(\.base)
    let apply: ([Tensor]) -> Tensor = { xs in
      c.op(zip(c.inputs, xs).map { input, x in input.layout.apply(x, shape: input.shape) })
    }
    do {
      try gradcheck(apply, inputs: bases)
    } catch {
      return "gradcheck: \(worst(error))\(error)" + context
    }
    if secondOrder && property.secondOrder {
      do {
        try gradgradcheck(apply, inputs: bases)
      } catch {
        return "gradgradcheck: \(worst(error))\(error)" + context
      }
    }
    return nil
  }

  /// The largest disagreement of a GradcheckError, at full precision (its table rounds).
  static func worst(_ error: any Error) -> String {
    guard let e = error as? GradcheckError else { return "" }
    var best = (0.0, 0, 0)
    for (j, row) in e.numerical.enumerated() {
      for (k, n) in row.enumerated() {
        let d = abs(e.analytical[j][k] - n)
        if !(d <= best.0) { best = (d.isNaN ? .infinity : d, j, k) }
      }
    }
    let (j, k) = (best.1, best.2)
    return
      "worst at [\(j)][\(k)]: numerical \(e.numerical[j][k]), analytical \(e.analytical[j][k])\n  "
  }
}
