/// A gradient check found analytical and numerical Jacobians that disagree.
public struct GradcheckError: Error, CustomStringConvertible {
  public let outputIndex: Int
  public let inputIndex: Int
  public let numerical: [[Double]]
  public let analytical: [[Double]]

  public var description: String {
    func rows(_ m: [[Double]]) -> String {
      m.map { "[" + $0.map { cFormat("%.4f", $0) }.joined(separator: ", ") + "]" }.joined(
        separator: "\n")
    }
    return
      "Jacobian mismatch for output \(outputIndex) with respect to input \(inputIndex),\nnumerical:\n\(rows(numerical))\nanalytical:\n\(rows(analytical))"
  }
}

extension Tensor {
  /// Storage indices of every element, in row-major logical order.
  func elementStorageIndices() -> [Int] {
    var result: [Int] = []
    result.reserveCapacity(count)
    var index = [Int](repeating: 0, count: rank)
    for _ in 0..<count {
      var off = storageOffset
      for d in 0..<rank { off += index[d] * strides[d] }
      result.append(off)
      var d = rank - 1
      while d >= 0 {
        index[d] += 1
        if index[d] < shape[d] { break }
        index[d] = 0
        d -= 1
      }
    }
    return result
  }
}

/// Compares the gradients autograd computes for `function` with central finite differences
/// (`torch.autograd.gradcheck`). Inputs that require grad should be float64.
///
/// Returns true when every Jacobian matches within `atol + rtol * |numerical|`; otherwise throws
/// ``GradcheckError`` (or returns false when `raiseOnFailure` is false).
@discardableResult
public func gradcheck(
  _ function: ([Tensor]) throws -> [Tensor], inputs: [Tensor], eps: Double = 1e-6,
  atol: Double = 1e-5, rtol: Double = 1e-3, raiseOnFailure: Bool = true
) throws -> Bool {
  let outputs = try function(inputs)
  let diffInputs = inputs.enumerated().filter { $0.element.requiresGrad }
  for (oi, out) in outputs.enumerated() where out.dtype.isFloatingPoint {
    let outCount = out.count
    for (ii, input) in diffInputs {
      let positions = input.elementStorageIndices()
      // numerical[j][k]: d out_k / d in_j
      var numerical = [[Double]](
        repeating: [Double](repeating: 0, count: outCount), count: positions.count)
      for (j, pos) in positions.enumerated() {
        let original = input.rawValue(at: pos)
        input.setRaw(original + eps, at: pos)
        let plus = try withNoGrad { try function(inputs)[oi].toArray() }
        input.setRaw(original - eps, at: pos)
        let minus = try withNoGrad { try function(inputs)[oi].toArray() }
        input.setRaw(original, at: pos)
        for k in 0..<outCount { numerical[j][k] = (plus[k] - minus[k]) / (2 * eps) }
      }
      var analytical = [[Double]](
        repeating: [Double](repeating: 0, count: outCount), count: positions.count)
      if out.requiresGrad {
        for k in 0..<outCount {
          let seed = Tensor.zeros(out.shape, dtype: out.dtype)
          seed.setRaw(1, at: k)
          let g = try grad(
            of: [out], withRespectTo: [input], gradOutputs: [seed], retainGraph: true,
            allowUnused: true)[0]
          if let g {
            let values = g.toArray()
            for j in 0..<positions.count { analytical[j][k] = values[j] }
          }
        }
      }
      for j in 0..<positions.count {
        for k in 0..<outCount {
          let (a, n) = (analytical[j][k], numerical[j][k])
          if !(abs(a - n) <= atol + rtol * abs(n)) {
            if !raiseOnFailure { return false }
            throw GradcheckError(
              outputIndex: oi, inputIndex: ii, numerical: numerical, analytical: analytical)
          }
        }
      }
    }
  }
  return true
}

/// ``gradcheck(_:inputs:eps:atol:rtol:raiseOnFailure:)`` for a single-output function.
@discardableResult
public func gradcheck(
  _ function: ([Tensor]) throws -> Tensor, inputs: [Tensor], eps: Double = 1e-6,
  atol: Double = 1e-5, rtol: Double = 1e-3, raiseOnFailure: Bool = true
) throws -> Bool {
  try gradcheck(
    { [try function($0)] }, inputs: inputs, eps: eps, atol: atol, rtol: rtol,
    raiseOnFailure: raiseOnFailure)
}

/// Checks second derivatives: the gradients of `function`'s vector-Jacobian products (computed
/// with `createGraph`) against finite differences (`torch.autograd.gradgradcheck`).
@discardableResult
public func gradgradcheck(
  _ function: ([Tensor]) throws -> Tensor, inputs: [Tensor], eps: Double = 1e-6,
  atol: Double = 1e-5, rtol: Double = 1e-3, raiseOnFailure: Bool = true
) throws -> Bool {
  let out = try function(inputs)
  // fixed pseudo-random upstream gradient, itself differentiated
  let n = out.count
  let values = (0..<n).map { 0.5 + Double(($0 * 7919) % 101) / 101.0 }
  let v = try Tensor(shape: out.shape, doubles: values, dtype: out.dtype).setRequiresGrad()
  let diffIndices = inputs.indices.filter { inputs[$0].requiresGrad }
  return try gradcheck(
    { all in
      try withGradEnabled {
        let xs = Array(all.dropLast())
        let y = try function(xs)
        let gs = try grad(
          of: [y], withRespectTo: diffIndices.map { xs[$0] }, gradOutputs: [all.last!],
          createGraph: true,
          allowUnused: true)
        return zip(diffIndices, gs).map { i, g in g ?? Tensor.zeros(like: xs[i]) }
      }
    }, inputs: inputs + [v], eps: eps, atol: atol, rtol: rtol, raiseOnFailure: raiseOnFailure)
}
