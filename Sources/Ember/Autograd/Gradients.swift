/// What a backward rule returns: one gradient per input of its node (nil where none is needed),
/// written as an array literal (`[ctx.grad, nil]`).
///
/// Up to two gradients are kept inline and only more spill into an array: nearly every op has one
/// or two inputs, and an array per backward call was one heap allocation per node
/// (ember-bench scalar under callgrind: 4 of its 34 allocations per iteration, 29.42k -> 28.70k
/// instructions; wall time within the machine's noise). The literal's variadic array is
/// stack-promoted once the initializer is inlined into the rule.
struct Gradients: RandomAccessCollection, ExpressibleByArrayLiteral {
  private var first: Tensor?
  private var second: Tensor?
  /// All gradients when there are more than two (the inline slots are then unused). Optional
  /// and moved out to be changed: as a plain array, the empty one of a short list was made unique
  /// (a new allocation) by a uniqueness check the optimizer hoisted out of the engine's loop.
  private var spill: [Tensor?]?
  private(set) var count: Int

  init() {
    first = nil
    second = nil
    spill = nil
    count = 0
  }

  @inline(__always)
  init(arrayLiteral elements: Tensor?...) {
    self.init(elements)
  }

  /// Two gradients without an array literal, for the rules of the most common ops: a literal's
  /// elements are copied out of its array and the array destroyed (a generic
  /// `swift_arrayDestroy` call and value-witness calls per element; ember-bench scalar under
  /// callgrind, with the rules of `+` and `*` written with this: 23.38k -> 22.16k instructions per
  /// iteration, with two smaller engine changes of the same commit).
  @inline(__always)
  init(_ a: consuming Tensor?, _ b: consuming Tensor?) {
    first = a
    second = b
    spill = nil
    count = 2
  }

  @inline(__always)
  init(_ elements: [Tensor?]) {
    count = elements.count
    if count <= 2 {
      first = count > 0 ? elements[0] : nil
      second = count > 1 ? elements[1] : nil
      spill = nil
    } else {
      first = nil
      second = nil
      spill = elements
    }
  }

  var startIndex: Int { 0 }
  var endIndex: Int { count }

  subscript(i: Int) -> Tensor? {
    @inline(__always) get {
      precondition(i >= 0 && i < count, "Gradients: index \(i) out of range 0..<\(count)")
      if count > 2 { return spill![i] }
      return i == 0 ? first : second
    }
  }

  /// Moves gradient `i` out, leaving nil (no reference-count traffic, unlike a read and a write
  /// through the subscript: the engine checks each gradient with this and ``put(_:at:)``).
  @inline(__always)
  mutating func take(_ i: Int) -> Tensor? {
    precondition(i >= 0 && i < count, "Gradients: index \(i) out of range 0..<\(count)")
    if count > 2 {
      var all = spill.take()!
      let g = all[i].take()
      spill = all
      return g
    }
    return i == 0 ? first.take() : second.take()
  }

  /// Stores `g` as gradient `i`.
  @inline(__always)
  mutating func put(_ g: consuming Tensor?, at i: Int) {
    precondition(i >= 0 && i < count, "Gradients: index \(i) out of range 0..<\(count)")
    if count > 2 {
      var all = spill.take()!
      all[i] = g
      spill = all
    } else if i == 0 {
      first = g
    } else {
      second = g
    }
  }
}
