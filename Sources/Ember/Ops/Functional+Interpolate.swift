/// The resampling of ``Functional/interpolate(_:size:mode:alignCorners:)`` (PyTorch's `mode=`).
public enum InterpolationMode: String, Sendable {
  /// The nearest source element, PyTorch's (legacy) `floor(dst * scale)` rule (`'nearest'`).
  case nearest
  /// The nearest source element with centers aligned, `floor((dst + 0.5) * scale)`
  /// (`'nearest-exact'`).
  case nearestExact = "nearest-exact"
  /// Linear interpolation of `[N, C, L]` (`'linear'`).
  case linear
  /// Bilinear interpolation of `[N, C, H, W]` (`'bilinear'`).
  case bilinear
  /// Trilinear interpolation of `[N, C, D, H, W]` (`'trilinear'`).
  case trilinear

  var isLinear: Bool { self == .linear || self == .bilinear || self == .trilinear }
}

/// Up- and down-sampling (`F.interpolate`) of `[N, C, d1, ...]` inputs with 1 to 3 spatial dims.
///
/// The output size comes from `size`, or from `scaleFactor` as `floor(in * scale)`. Indices and
/// weights follow PyTorch's CPU kernels (`UpSample.h`), computed in the input's precision; linear
/// modes resample one dim at a time from the last one, as PyTorch's separable kernel does. The
/// node is PyTorch's (`UpsampleNearest2DBackward0`, `UpsampleBilinear2DBackward0`, ...); its
/// backward scatters the gradient with tensor ops, so it can be differentiated again.
extension Functional {
  /// Resamples to the spatial `size` (one entry per spatial dim).
  public static func interpolate(
    _ input: Tensor, size: [Int], mode: InterpolationMode = .nearest, alignCorners: Bool? = nil
  ) -> Tensor {
    let dims = checkInterpolate(input, mode: mode, alignCorners: alignCorners)
    precondition(
      size.count == dims,
      "Input and output must have the same number of spatial dimensions, but got input with spatial dimensions of \(Array(input.shape[2...])) and output size of \(pythonTuple(size)). Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format."
    )
    return resample(
      input, size: size, scales: nil, mode: mode, alignCorners: alignCorners ?? false)
  }

  /// Resamples every spatial dim to `size`.
  public static func interpolate(
    _ input: Tensor, size: Int, mode: InterpolationMode = .nearest, alignCorners: Bool? = nil
  ) -> Tensor {
    let dims = checkInterpolate(input, mode: mode, alignCorners: alignCorners)
    return interpolate(
      input, size: [Int](repeating: size, count: dims), mode: mode, alignCorners: alignCorners)
  }

  /// Resamples every spatial dim by `scaleFactor`. With `recomputeScaleFactor` the kernels use
  /// the scale implied by the output size instead of `scaleFactor` itself.
  public static func interpolate(
    _ input: Tensor, scaleFactor: Double, mode: InterpolationMode = .nearest,
    alignCorners: Bool? = nil, recomputeScaleFactor: Bool = false
  ) -> Tensor {
    let dims = checkInterpolate(input, mode: mode, alignCorners: alignCorners)
    return interpolate(
      input, scaleFactors: [Double](repeating: scaleFactor, count: dims), mode: mode,
      alignCorners: alignCorners, recomputeScaleFactor: recomputeScaleFactor)
  }

  /// Resamples spatial dim `i` by `scaleFactors[i]`.
  public static func interpolate(
    _ input: Tensor, scaleFactors: [Double], mode: InterpolationMode = .nearest,
    alignCorners: Bool? = nil, recomputeScaleFactor: Bool = false
  ) -> Tensor {
    let dims = checkInterpolate(input, mode: mode, alignCorners: alignCorners)
    precondition(
      scaleFactors.count == dims,
      "Input and scale_factor must have the same number of spatial dimensions, but got input with spatial dimensions of \(Array(input.shape[2...])) and scale_factor of shape \(pythonTuple(scaleFactors)). Please provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format."
    )
    let size = (0..<dims).map {
      Int((Double(input.shape[$0 + 2]) * scaleFactors[$0]).rounded(.down))
    }
    return resample(
      input, size: size, scales: recomputeScaleFactor ? nil : scaleFactors, mode: mode,
      alignCorners: alignCorners ?? false)
  }

  // MARK: implementation

  private static func pythonTuple<T>(_ values: [T]) -> String {
    values.count == 1
      ? "(\(values[0]),)" : "(" + values.map { "\($0)" }.joined(separator: ", ") + ")"
  }

  /// Checks rank, mode and `alignCorners`; returns the number of spatial dims.
  private static func checkInterpolate(
    _ input: Tensor, mode: InterpolationMode, alignCorners: Bool?
  ) -> Int {
    precondition(
      alignCorners == nil || mode.isLinear,
      "align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear"
    )
    precondition(
      input.rank >= 3 && input.rank <= 5,
      "Input Error: Only 3D, 4D and 5D input Tensors supported (got \(input.rank)D) for the modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact (got \(mode.rawValue))"
    )
    let needed: Int? = mode == .linear ? 3 : mode == .bilinear ? 4 : mode == .trilinear ? 5 : nil
    if let needed {
      precondition(
        input.rank == needed,
        "Got \(input.rank)D input, but \(mode.rawValue) mode needs \(needed)D input")
    }
    precondition(
      input.dtype.isFloatingPoint,
      "interpolate: expected a floating-point input, got \(input.dtype)")
    return input.rank - 2
  }

  /// PyTorch's `compute_scales_value`: 1 / scale when a positive scale was given, else in / out.
  private static func scaleValue<T: FloatScalar>(_ scale: Double?, _ inSize: Int, _ outSize: Int)
    -> T
  {
    if let scale, scale > 0 { return T(fromDouble: 1 / scale) }
    return T(fromDouble: Double(inSize)) / T(fromDouble: Double(outSize))
  }

  /// One resampling step along a dim: source indices and weights per output position.
  private struct ResampleStep {
    let dim: Int
    let index0: [Int64]
    let index1: [Int64]?
    let weight0: [Double]
    let weight1: [Double]
  }

  private static func nearestStep<T: FloatScalar>(
    _: T.Type, dim: Int, inSize: Int, outSize: Int, scale: Double?, exact: Bool
  ) -> ResampleStep {
    let s: T = scaleValue(scale, inSize, outSize)
    let index: [Int64] = (0..<outSize).map { o in
      if !exact && outSize == inSize { return Int64(o) }
      if !exact && outSize == 2 * inSize { return Int64(o >> 1) }
      let src =
        exact ? (T(fromDouble: Double(o)) + T(fromDouble: 0.5)) * s : T(fromDouble: Double(o)) * s
      return Int64(Swift.min(Int(src.rounded(.down)), inSize - 1))
    }
    return ResampleStep(dim: dim, index0: index, index1: nil, weight0: [], weight1: [])
  }

  private static func linearStep<T: FloatScalar>(
    _: T.Type, dim: Int, inSize: Int, outSize: Int, scale: Double?, alignCorners: Bool
  ) -> ResampleStep {
    let ratio: T =
      alignCorners
      ? (outSize > 1
        ? T(fromDouble: Double(inSize - 1)) / T(fromDouble: Double(outSize - 1)) : 0)
      : scaleValue(scale, inSize, outSize)
    var i0: [Int64] = []
    var i1: [Int64] = []
    var w0: [Double] = []
    var w1: [Double] = []
    for o in 0..<outSize {
      let dst = T(fromDouble: Double(o))
      var src = alignCorners ? ratio * dst : ratio * (dst + T(fromDouble: 0.5)) - T(fromDouble: 0.5)
      if !alignCorners && src < 0 { src = 0 }
      let lo = Swift.min(Int(src.rounded(.down)), inSize - 1)
      let lambda1 = Swift.min(Swift.max(src - T(fromDouble: Double(lo)), 0), 1)
      i0.append(Int64(lo))
      i1.append(Int64(lo < inSize - 1 ? lo + 1 : lo))
      w0.append((1 - lambda1).doubleValue)
      w1.append(lambda1.doubleValue)
    }
    return ResampleStep(dim: dim, index0: i0, index1: i1, weight0: w0, weight1: w1)
  }

  private static func resample(
    _ input: Tensor, size: [Int], scales: [Double]?, mode: InterpolationMode, alignCorners: Bool
  ) -> Tensor {
    let dims = size.count
    for s in size {
      precondition(
        s > 0,
        "Input and output sizes should be greater than 0, but got input (\(Array(input.shape[2...]).map(String.init).joined(separator: ", "))) and output (\(size.map(String.init).joined(separator: ", ")))"
      )
    }
    // last spatial dim first, as PyTorch's separable kernel; dims of unchanged size are skipped
    var steps: [ResampleStep] = []
    for k in stride(from: dims - 1, through: 0, by: -1) {
      let dim = k + 2
      let (inSize, outSize) = (input.shape[dim], size[k])
      let scale = scales?[k]
      let step: ResampleStep
      switch (mode, input.dtype) {
      case (.nearest, .float32), (.nearestExact, .float32):
        if mode == .nearest && inSize == outSize { continue }
        step = nearestStep(
          Float.self, dim: dim, inSize: inSize, outSize: outSize, scale: scale,
          exact: mode == .nearestExact)
      case (.nearest, _), (.nearestExact, _):
        if mode == .nearest && inSize == outSize { continue }
        // PyTorch computes nearest indices in float for every dtype
        step = nearestStep(
          Float.self, dim: dim, inSize: inSize, outSize: outSize, scale: scale,
          exact: mode == .nearestExact)
      case (_, .float32):
        if inSize == outSize { continue }
        step = linearStep(
          Float.self, dim: dim, inSize: inSize, outSize: outSize, scale: scale,
          alignCorners: alignCorners)
      default:
        if inSize == outSize { continue }
        step = linearStep(
          Double.self, dim: dim, inSize: inSize, outSize: outSize, scale: scale,
          alignCorners: alignCorners)
      }
      steps.append(step)
    }
    let name: String
    switch mode {
    case .nearest: name = "UpsampleNearest\(dims)DBackward0"
    case .nearestExact: name = "UpsampleNearestExact\(dims)DBackward0"
    case .linear: name = "UpsampleLinear1DBackward0"
    case .bilinear: name = "UpsampleBilinear2DBackward0"
    case .trilinear: name = "UpsampleTrilinear3DBackward0"
    }
    return separableResample(input, steps, name: name)
  }

  /// Applies the steps in order (each reads the previous result along one dim); records one node
  /// whose backward applies their adjoints in reverse with `indexAdd`.
  private static func separableResample(_ input: Tensor, _ steps: [ResampleStep], name: String)
    -> Tensor
  {
    let dtype = input.dtype
    let rank = input.rank
    func view(_ w: [Double], dim: Int) -> Tensor {
      var shape = [Int](repeating: 1, count: rank)
      shape[dim] = w.count
      return Tensor(shape: [w.count], scalars: w).to(dtype).view(shape)
    }
    // saved per step: index0, index1 (or index0 again), weight0, weight1 (empty for nearest)
    var saved: [Tensor] = []
    for s in steps {
      saved.append(Tensor(shape: [s.index0.count], scalars: s.index0))
      saved.append(Tensor(shape: [s.index0.count], scalars: s.index1 ?? s.index0))
      saved.append(s.index1 == nil ? Tensor.placeholder : view(s.weight0, dim: s.dim))
      saved.append(s.index1 == nil ? Tensor.placeholder : view(s.weight1, dim: s.dim))
    }
    var shapes: [[Int]] = []
    let out = withNoGrad { () -> Tensor in
      var y = input.detach()
      for (k, s) in steps.enumerated() {
        shapes.append(y.shape)
        if s.index1 == nil {
          y = y.indexSelect(dim: s.dim, index: saved[4 * k])
        } else {
          y =
            y.indexSelect(dim: s.dim, index: saved[4 * k]) * saved[4 * k + 2]
            + y.indexSelect(dim: s.dim, index: saved[4 * k + 1]) * saved[4 * k + 3]
        }
      }
      return steps.isEmpty ? y.clone() : y
    }
    if Tensor.needsGrad(input) {
      let stepDims = steps.map(\.dim)
      let linear = steps.map { $0.index1 != nil }
      Tensor.record(name, inputs: [input], outputs: [out], saving: saved) { ctx in
        var g = ctx.grad
        for k in stride(from: stepDims.count - 1, through: 0, by: -1) {
          let zeros = Tensor.zeros(shapes[k], dtype: g.dtype)
          let d = stepDims[k]
          if linear[k] {
            let (i0, i1) = (try ctx.saved(4 * k), try ctx.saved(4 * k + 1))
            let (w0, w1) = (try ctx.saved(4 * k + 2), try ctx.saved(4 * k + 3))
            g = zeros.indexAdd(dim: d, index: i0, source: g * w0)
              .indexAdd(dim: d, index: i1, source: g * w1)
          } else {
            g = zeros.indexAdd(dim: d, index: try ctx.saved(4 * k), source: g)
          }
        }
        return [g]
      }
    }
    return out
  }
}
