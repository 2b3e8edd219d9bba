/// A sample element the default collate function knows how to batch
/// (`torch.utils.data.default_collate`): tensors are stacked along a new first dimension,
/// integers become an int64 tensor, `Double`s a float64 tensor, `Float`s a float32 tensor and
/// `Bool`s a bool tensor, as PyTorch does with Python ints, floats and bools.
public protocol Collatable {
  /// One batch from a list of samples' elements.
  static func collate(_ elements: [Self]) -> Tensor
}

extension Tensor: Collatable {
  /// `torch.stack(elements, 0)`: the tensors must share their shape and dtype.
  public static func collate(_ elements: [Tensor]) -> Tensor {
    precondition(!elements.isEmpty, "collate: cannot batch an empty list of tensors")
    if let mismatch = elements.first(where: { $0.shape != elements[0].shape }) {
      preconditionFailure(
        "collate: stack expects each tensor to be equal size, but got \(elements[0].shape) at entry 0 and \(mismatch.shape) at another entry"
      )
    }
    return Tensor.stack(elements, dim: 0)
  }
}

extension Int: Collatable {
  /// An int64 tensor of the integers (`torch.tensor(batch)`).
  public static func collate(_ elements: [Int]) -> Tensor {
    Tensor(shape: [elements.count], scalars: elements.map { Int64($0) })
  }
}

extension Int64: Collatable {
  /// An int64 tensor of the integers.
  public static func collate(_ elements: [Int64]) -> Tensor {
    Tensor(shape: [elements.count], scalars: elements)
  }
}

extension Int32: Collatable {
  /// An int64 tensor of the integers (Ember's only integer dtype).
  public static func collate(_ elements: [Int32]) -> Tensor {
    Tensor(shape: [elements.count], scalars: elements.map { Int64($0) })
  }
}

extension Double: Collatable {
  /// A float64 tensor (`torch.tensor(batch, dtype=torch.float64)`, as for Python floats).
  public static func collate(_ elements: [Double]) -> Tensor {
    Tensor(shape: [elements.count], scalars: elements)
  }
}

extension Float: Collatable {
  /// A float32 tensor (as PyTorch batches numpy float32 scalars).
  public static func collate(_ elements: [Float]) -> Tensor {
    Tensor(shape: [elements.count], scalars: elements)
  }
}

extension Bool: Collatable {
  /// A bool tensor.
  public static func collate(_ elements: [Bool]) -> Tensor {
    Tensor(shape: [elements.count], scalars: elements)
  }
}

/// The default collate functions (`default_collate`) for the sample shapes Swift can name:
/// one collatable value, tuples of two or three, and arrays (collated position by position).
public enum Collate {
  /// Samples that are a single value: one tensor.
  public static func batch<T: Collatable>(_ samples: [T]) -> Tensor { T.collate(samples) }

  /// `(a, b)` samples: a tuple of two batches.
  public static func batch<A: Collatable, B: Collatable>(_ samples: [(A, B)]) -> (Tensor, Tensor) {
    (A.collate(samples.map(\.0)), B.collate(samples.map(\.1)))
  }

  /// `(a, b, c)` samples: a tuple of three batches.
  public static func batch<A: Collatable, B: Collatable, C: Collatable>(_ samples: [(A, B, C)])
    -> (Tensor, Tensor, Tensor)
  {
    (A.collate(samples.map(\.0)), B.collate(samples.map(\.1)), C.collate(samples.map(\.2)))
  }

  /// Array samples: one batch per position (PyTorch collates sequences element by element);
  /// every sample must have the same length.
  public static func batch<T: Collatable>(_ samples: [[T]]) -> [Tensor] {
    guard let width = samples.first?.count else { return [] }
    precondition(
      samples.allSatisfy { $0.count == width },
      "collate: each element in list of batch should be of equal size")
    return (0..<width).map { k in T.collate(samples.map { $0[k] }) }
  }
}
