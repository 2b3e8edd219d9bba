/// Loops behind the class-index losses (Functional+CrossEntropy.swift): raw pointers in, sums out.
enum LossKernel {
  /// Negative log-likelihood at class indices.
  ///
  /// `input` is contiguous `[outer, classes, inner]`, `target` contiguous `[outer, inner]`. For each
  /// position writes the loss `-w[t] * input[n, t, i]` (0 where `t == ignoreIndex`), the weight
  /// `w[t]` that position counts with (0 where ignored) and the class index (0 where ignored, so it
  /// can index a scatter). Returns the sums of the losses and of the weights, accumulated in double.
  /// Stops with PyTorch's message for a class index outside `0..<classes`.
  static func nll<T: FloatScalar>(
    input: UnsafePointer<T>, target: UnsafePointer<Int64>, weight: UnsafePointer<T>?,
    outer: Int, classes: Int, inner: Int, ignoreIndex: Int64,
    losses: UnsafeMutablePointer<T>, weights: UnsafeMutablePointer<T>,
    safeTarget: UnsafeMutablePointer<Int64>
  ) -> (lossSum: Double, weightSum: Double) {
    var lossSum = 0.0
    var weightSum = 0.0
    let c64 = Int64(classes)
    for n in 0..<outer {
      let row = input + n * classes * inner
      for i in 0..<inner {
        let k = n * inner + i
        let t = target[k]
        if t == ignoreIndex {
          losses[k] = 0
          weights[k] = 0
          safeTarget[k] = 0
          continue
        }
        precondition(t >= 0 && t < c64, "Target \(t) is out of bounds.")
        let w = weight.map { $0[Int(t)] } ?? 1
        let l = -(row[Int(t) * inner + i] * w)
        losses[k] = l
        weights[k] = w
        safeTarget[k] = t
        lossSum += l.doubleValue
        weightSum += w.doubleValue
      }
    }
    return (lossSum, weightSum)
  }
}
