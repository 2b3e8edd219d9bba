/// A list that keeps up to two elements inline and only allocates an array for more, for the
/// per-node lists of the autograd graph (edges to the inputs, metadata of the outputs): nearly
/// every op has one or two inputs and one output, and an array per list was two of the five heap
/// objects of each recorded node (ember-bench scalar: about a tenth of the allocations per
/// iteration).
///
/// Unused inline slots hold the element type's ``SmallListElement/filler`` rather than being
/// optional: copies of an `Element?` slot went through Optional's generic value witnesses
/// (about 100 instructions per copy under callgrind).
struct SmallList<Element: SmallListElement>: RandomAccessCollection, ExpressibleByArrayLiteral {
  /// Inline slots, used while `spill` is empty (`count <= 2`).
  private var first: Element
  private var second: Element
  /// All elements when there are more than two (the inline slots then hold fillers).
  private var spill: [Element]
  let count: Int

  init() {
    first = .filler
    second = .filler
    spill = []
    count = 0
  }

  init(_ a: Element) {
    first = a
    second = .filler
    spill = []
    count = 1
  }

  init(_ a: Element, _ b: Element) {
    first = a
    second = b
    spill = []
    count = 2
  }

  init(_ elements: [Element]) {
    count = elements.count
    first = count <= 2 && count > 0 ? elements[0] : .filler
    second = count == 2 ? elements[1] : .filler
    spill = count > 2 ? elements : []
  }

  init(arrayLiteral elements: Element...) { self.init(elements) }

  var startIndex: Int { 0 }
  var endIndex: Int { count }
  var isEmpty: Bool { count == 0 }

  subscript(i: Int) -> Element {
    @inline(__always) get {
      precondition(i >= 0 && i < count, "SmallList: index \(i) out of range 0..<\(count)")
      if count > 2 { return spill[i] }
      return i == 0 ? first : second
    }
  }
}

/// An element type of ``SmallList``, with a value for unused inline slots.
protocol SmallListElement {
  static var filler: Self { get }
}

extension Edge: SmallListElement {
  static var filler: Edge { .none }
}

extension OutputMeta: SmallListElement {
  static var filler: OutputMeta { OutputMeta(shape: [], dtype: .float32) }
}
