/// How ``Functional/pad(_:_:mode:value:)`` fills the border (PyTorch's `mode=` string).
public enum PadMode: String, Sendable {
  /// A constant value (`'constant'`, the default); negative pads crop.
  case constant
  /// The mirror image without repeating the edge (`'reflect'`): `[1, 2, 3]` padded by 2 on the
  /// left starts `3, 2, 1, 2, 3`.
  case reflect
  /// The edge value repeated (`'replicate'`).
  case replicate
  /// The other end wrapped around (`'circular'`).
  case circular
}

/// Padding (`F.pad`) and one-hot encoding (`F.one_hot`).
extension Functional {
  /// Pads the last `pad.count / 2` dims of `input` (`F.pad`). `pad` lists (before, after) pairs
  /// starting from the **last** dim, as PyTorch's tuple: `[1, 2]` pads the last dim by 1 before
  /// and 2 after; `[1, 1, 2, 2]` also pads the dim before it by 2 on each side.
  ///
  /// `.constant` works on any number of dims (`ConstantPadNdBackward0`). The other modes pad the
  /// last 1, 2 or 3 dims of a 2-3, 3-4 or 4-5 dim input (`ReflectionPad2DBackward0`,
  /// `ReplicationPad1DBackward0`, ...; circular padding's node is `CopySlices`, PyTorch's name for
  /// it). `value` is for `.constant` only.
  public static func pad(
    _ input: Tensor, _ pad: [Int], mode: PadMode = .constant, value: Double = 0
  ) -> Tensor {
    precondition(pad.count % 2 == 0, "Padding length must be divisible by 2")
    precondition(
      pad.count <= input.rank * 2,
      "Padding length should be less than or equal to two times the input dimension but got padding length \(pad.count) and input of dimension \(input.rank)"
    )
    if mode == .constant { return constantPad(input, pad, value: value) }
    precondition(
      value == 0, "Padding mode \"\(mode.rawValue)\" doesn't take in value argument")
    let k = pad.count / 2
    precondition(
      k >= 1 && k <= 3 && (input.rank == k + 1 || input.rank == k + 2),
      "Padding size \(pad.count) is not supported for \(input.rank)D input tensor.\nSupported combinations for non-constant padding:\n  - 2D or 3D input: padding size = 2 (pads last dimension)\n  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
    )
    // index maps, one per padded dim (last dim first, as the pad list)
    var maps: [(dim: Int, index: [Int64])] = []
    for pair in 0..<k {
      let dim = input.rank - 1 - pair
      let size = input.shape[dim]
      let (before, after) = (pad[2 * pair], pad[2 * pair + 1])
      switch mode {
      case .reflect:
        precondition(
          before < size && after < size,
          "Argument #\(4 + 2 * pair): Padding size should be less than the corresponding input dimension, but got: padding (\(before), \(after)) at dimension \(dim) of input \(input.shape)"
        )
      case .circular:
        precondition(
          before <= size && after <= size, "Padding value causes wrapping around more than once.")
      case .replicate, .constant:
        break
      }
      let outSize = size + before + after
      precondition(
        outSize >= 0 && (outSize == 0 || size > 0),
        "\(mode.rawValue) padding: input size \(size) with padding (\(before), \(after)) at dimension \(dim) of input \(input.shape) gives an invalid output size \(outSize)"
      )
      let index: [Int64] = (0..<outSize).map { o in
        let i = o - before
        switch mode {
        case .reflect:
          let r = i < 0 ? -i : (i >= size ? 2 * (size - 1) - i : i)
          return Int64(r)
        case .replicate: return Int64(Swift.min(Swift.max(i, 0), size - 1))
        case .circular:
          // PyTorch crops by the negative pads first, then wraps around what is left
          let start = Swift.max(-before, 0)
          let kept = size - start - Swift.max(-after, 0)
          let j = o - Swift.max(before, 0)
          return Int64(start + ((j % kept) + kept) % kept)
        case .constant: return Int64(i)
        }
      }
      maps.append((dim, index))
    }
    let name: String
    switch mode {
    case .reflect: name = "ReflectionPad\(k)DBackward0"
    case .replicate: name = "ReplicationPad\(k)DBackward0"
    default: name = "CopySlices"
    }
    return indexMapOp(input, maps, name: name)
  }

  /// One-hot encoding of int64 class indices (`F.one_hot`): a new last dim of `numClasses`
  /// (`-1`: the largest value plus one) holding 1 at each index. The result is int64 and has no
  /// gradient.
  public static func oneHot(_ tensor: Tensor, numClasses: Int = -1) -> Tensor {
    precondition(
      tensor.dtype == .int64, "one_hot is only applicable to index tensor of type LongTensor.")
    let values = tensor.scalars(as: Int64.self)
    var classes = numClasses
    if classes == -1 {
      precondition(!values.isEmpty, "Can not infer total number of classes from empty tensor.")
      classes = Int(values.max()!) + 1
    }
    if let lo = values.min() {
      precondition(lo >= 0, "Class values must be non-negative.")
      precondition(values.max()! < classes, "Class values must be smaller than num_classes.")
    }
    let out = Tensor.zeros(tensor.shape + [classes], dtype: .int64)
    let p = out.basePointer(Int64.self)
    for (i, v) in values.enumerated() { p[i * classes + Int(v)] = 1 }
    return out
  }

  // MARK: implementation

  /// Constant padding of any number of trailing dims (`constant_pad_nd`); its backward pads the
  /// gradient by the negated amounts, so double backward is the same op again.
  static func constantPad(_ input: Tensor, _ pad: [Int], value: Double) -> Tensor {
    var outShape = input.shape
    for pair in 0..<(pad.count / 2) {
      let dim = input.rank - 1 - pair
      outShape[dim] += pad[2 * pair] + pad[2 * pair + 1]
      precondition(outShape[dim] >= 0, "narrow(): length must be non-negative.")
    }
    let out = Tensor.full(outShape, value, dtype: input.dtype)
    var src = input.detach()
    var dst = out.alias()
    for pair in 0..<(pad.count / 2) {
      let dim = input.rank - 1 - pair
      let (before, after) = (pad[2 * pair], pad[2 * pair + 1])
      let length = input.shape[dim] - Swift.max(-before, 0) - Swift.max(-after, 0)
      if length <= 0 { return finishConstantPad(input, out, pad) }
      src = src.narrow(dim, start: Swift.max(-before, 0), length: length)
      dst = dst.narrow(dim, start: Swift.max(before, 0), length: length)
    }
    if src.count > 0 { Kernel.copy(src, into: dst) }
    return finishConstantPad(input, out, pad)
  }

  private static func finishConstantPad(_ input: Tensor, _ out: Tensor, _ pad: [Int]) -> Tensor {
    if Tensor.needsGrad(input) {
      let negated = pad.map { -$0 }
      Tensor.record("ConstantPadNdBackward0", inputs: [input], outputs: [out]) { ctx in
        [constantPad(ctx.grad, negated, value: 0)]
      }
    }
    return out
  }

  /// `input` read through an index map along each listed dim in turn (out[..., o, ...] =
  /// in[..., map[o], ...]); the backward scatters the gradient back with `indexAdd`, map by map
  /// in reverse, so repeated sources accumulate and double backward works.
  static func indexMapOp(_ input: Tensor, _ maps: [(dim: Int, index: [Int64])], name: String)
    -> Tensor
  {
    let indices = maps.map { Tensor(shape: [$0.index.count], scalars: $0.index) }
    var shapes: [[Int]] = [input.shape]
    let out = withNoGrad { () -> Tensor in
      var y = input.detach()
      for (m, index) in zip(maps, indices) {
        y = y.indexSelect(dim: m.dim, index: index)
        shapes.append(y.shape)
      }
      return y.contiguous()
    }
    if Tensor.needsGrad(input) {
      let dims = maps.map(\.dim)
      Tensor.record(name, inputs: [input], outputs: [out], saving: indices) { ctx in
        var g = ctx.grad
        for k in stride(from: dims.count - 1, through: 0, by: -1) {
          g = Tensor.zeros(shapes[k], dtype: g.dtype).indexAdd(
            dim: dims[k], index: try ctx.saved(k), source: g)
        }
        return [g]
      }
    }
    return out
  }
}
