import Ember
import Testing

/// The graph's back links hold no reference count and are not `weak` (a leaf's accumulator, a
/// retained grad's tensor, a saved output's node, a custom function's context): these tests
/// check that everything is still freed, that nothing is freed too early, and that the links
/// behave as PyTorch's weak ones do. Expected values are PyTorch 2's (noted beside each).
@Suite struct GraphLifetimeTests {
  /// Every node, the leaf's accumulator and the leaf itself go away with the last tensor.
  @Test func graphAndLeafAreFreed() throws {
    weak var weakLeaf: Tensor?
    weak var weakAccumulator: Node?
    weak var weakMul: Node?
    weak var weakAdd: Node?
    do {
      let x = try Tensor(1.0, requiresGrad: true)
      weakLeaf = x
      let y = x * x + 2 * x + 3
      weakAdd = y.gradFn
      let mul = y.gradFn?.nextFunctions[0].node?.nextFunctions[0].node
      weakMul = mul
      let acc = mul?.nextFunctions[0].node
      #expect(acc?.name == "AccumulateGrad")
      #expect((acc as? AccumulateGrad)?.variable === x)
      weakAccumulator = acc
      try y.backward()
      #expect(x.grad?.item() == 4)  // torch: 2 * 1 + 2
    }
    #expect(weakLeaf == nil)
    #expect(weakAccumulator == nil)
    #expect(weakMul == nil)
    #expect(weakAdd == nil)
  }

  /// While a graph lives, every edge into a leaf reaches the same accumulator (PyTorch's cached
  /// grad accumulator); the graph keeps the leaf's accumulator (and the leaf) alive after the
  /// caller drops the leaf, as in PyTorch, and a new graph after the old one is gone gets a new
  /// accumulator that still writes the same leaf.
  @Test func accumulatorIsSharedAndOutlivesTheLeafReference() throws {
    var x: Tensor? = try Tensor(3.0, requiresGrad: true)
    weak var weakLeaf = x
    var y: Tensor? = x! * x! * 2
    let first = y!.gradFn!.nextFunctions[0].node!.nextFunctions[0].node!
    let second = y!.gradFn!.nextFunctions[0].node!.nextFunctions[1].node!
    #expect(first === second)
    let leaf = (first as! AccumulateGrad).variable
    x = nil
    #expect(weakLeaf != nil)  // the accumulator keeps it
    try y!.backward()
    #expect(leaf.grad?.item() == 12)  // torch: d(2x^2)/dx at 3
    y = nil
    let z = leaf * 5
    let again = z.gradFn!.nextFunctions[0].node as! AccumulateGrad
    #expect(again.variable === leaf)
    try z.backward()
    #expect(leaf.grad?.item() == 17)
  }

  /// A non-leaf whose grad is retained may be freed before the graph runs: the node forgets it.
  @Test func retainedGradTensorFreedBeforeBackward() throws {
    let x = try Tensor(2.0, requiresGrad: true)
    var y: Tensor? = x * 3
    weak var weakY = y
    try y!.retainGrad()
    let z = y! * 2  // saves nothing: nothing but `y` keeps `y`
    y = nil
    #expect(weakY == nil)
    try z.backward()
    #expect(x.grad?.item() == 6)  // torch: d(2 * 3x)/dx
  }

  /// `detach_()` keeps a retained grad on the old history, as PyTorch:
  /// `b = a * 2; b.retain_grad(); c = b * 3; b.detach_(); c.backward()` gives `b.grad == 3`,
  /// `b.retains_grad == True`, `a.grad == 6`.
  @Test func detachInPlaceKeepsTheRetainedGrad() throws {
    let a = try Tensor([1.0], requiresGrad: true)
    let b = a * 2
    try b.retainGrad()
    let c = b * 3
    b.detachInPlace()
    try c.backward(gradient: Tensor([1.0]))
    #expect(b.grad?.toArray() == [3])
    #expect(b.retainsGrad)
    #expect(a.grad?.toArray() == [6])
  }

  /// A retained grad's tensor goes away with the graph (nothing keeps it from the node side).
  @Test func retainedGradTensorIsFreed() throws {
    weak var weakY: Tensor?
    weak var weakNode: Node?
    do {
      let x = try Tensor(2.0, requiresGrad: true)
      let y = x.exp()
      try y.retainGrad()
      weakY = y
      weakNode = y.gradFn
      let z = y * 2
      try z.backward()
      #expect(y.grad?.item() == 2)
    }
    #expect(weakY == nil)
    #expect(weakNode == nil)
  }

  /// An op that saves its own output (exp) reattaches it to its node on unpack, so double
  /// backward works, and the node does not keep itself alive through that output.
  @Test func savedOutputReattachesAndIsFreed() throws {
    weak var weakNode: Node?
    do {
      let x = try Tensor(1.5, requiresGrad: true)
      let y = x.exp()
      weakNode = y.gradFn
      let g = try grad(of: y, withRespectTo: x, createGraph: true)
      let g2 = try grad(of: g, withRespectTo: x)
      // torch: exp(1.5) = 4.4816890703
      #expect(abs(g2.item() - 4.4816890703) < 1e-5)
    }
    #expect(weakNode == nil)
  }

  /// A gradient sum in the engine that is taken in place never writes a tensor the caller or a
  /// hook can see: the seed passed to `backward` and a hooked gradient keep their values.
  @Test func inPlaceGradientSumsLeaveVisibleTensorsAlone() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = x * 1
    var seen: Tensor? = nil
    try y.registerHook { g in
      seen = g
      return nil
    }
    let seed = Tensor([1.0, 1.0])
    // y reaches x's accumulator twice more besides through itself
    let z = y + x + x
    try z.backward(gradient: seed)
    #expect(seed.toArray() == [1, 1])
    #expect(seen?.toArray() == [1, 1])
    #expect(x.grad?.toArray() == [3, 3])  // torch: [3., 3.]
  }
}
