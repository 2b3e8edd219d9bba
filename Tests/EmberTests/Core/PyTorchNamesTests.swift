import Ember
import Testing

/// The names a PyTorch user reaches for first (issue 5): shape queries, `var`, `empty`, the short
/// dtype conversions, `item(as: Int.self)` and a nested `tolist()`. Expected values are PyTorch
/// 2.15's for the same calls.
@Suite struct PyTorchNamesTests {
  @Test func shapeQueries() {
    let m = Tensor.zeros(2, 3)
    #expect(m.numel() == 6 && m.dim() == 2 && m.ndim == 2)
    #expect(m.size() == [2, 3] && m.size(1) == 3 && m.size(-1) == 3)
    let s = Tensor(3.0)
    #expect(s.numel() == 1 && s.dim() == 0 && s.size() == [])
    #expect(Tensor.zeros([0, 4]).numel() == 0)
  }

  /// `var` is a Swift keyword, but `x.var(...)` is an ordinary call.
  @Test func varIsCallableByPyTorchsName() {
    let x = Tensor([[0.5, -1.25, 2.0], [1.5, -0.5, 3.25]], dtype: .float64)
    expectClose(x.var().toArray(), [2.7666666666666666], rtol: 1e-14)
    expectClose(x.var(dim: 1).toArray(), [2.6458333333333335, 3.5208333333333335], rtol: 1e-14)
    expectClose(x.var(dim: [0], correction: 0).toArray(), [0.25, 0.140625, 0.390625], rtol: 1e-14)
  }

  @Test func emptyTakesVariadicOrArrayShapes() {
    let a = Tensor.empty(2, 3)
    #expect(a.shape == [2, 3] && a.dtype == .float32 && a.isContiguous)
    let b = Tensor.empty([2, 3], dtype: .int64)
    #expect(b.shape == [2, 3] && b.dtype == .int64)
    #expect(Tensor.empty(0).shape == [0] && Tensor.empty([]).shape == [])
    let c = Tensor.empty(like: b, dtype: .float64)
    #expect(c.shape == [2, 3] && c.dtype == .float64 && c.storage !== b.storage)
    // bool tensors start false (a Swift Bool must hold 0 or 1)
    #expect(Tensor.empty([5], dtype: .bool).toArray() == [0, 0, 0, 0, 0])
    // contents are unspecified, but writing then reading works
    let d = Tensor.empty(3)
    try! d.fill(2)
    #expect(d.toArray() == [2, 2, 2])
  }

  @Test func shortDTypeConversions() throws {
    let m = try Tensor([[0.0, 1.5], [-2.7, 3]], requiresGrad: true)
    #expect(m.float() === m)  // already float32: the same tensor, as PyTorch
    let d = m.double()
    #expect(d.dtype == .float64 && d.gradFn?.name == "ToCopyBackward0")
    #expect(d.float().dtype == .float32 && d.float().gradFn?.name == "ToCopyBackward0")
    let l = m.long()
    #expect(l.dtype == .int64 && l.toArray() == [0, 1, -2, 3] && !l.requiresGrad)
    let b = m.bool()
    #expect(b.dtype == .bool && b.toArray() == [0, 1, 1, 1])
  }

  @Test func itemAsSwiftTypes() {
    #expect(Tensor(2.7).item(as: Int.self) == 2)  // int(torch.tensor(2.7))
    #expect(Tensor(-2.7).item(as: Int.self) == -2)
    #expect(Tensor(7).item(as: Int.self) == 7)
    #expect(Tensor([Int64.max]).item(as: Int.self) == Int(Int64.max))
    #expect(Tensor(2.7).item(as: Float.self) == Float(2.7))
    #expect(Tensor(2.7).item(as: Double.self) == Double(Float(2.7)))  // 2.700000047683716
    #expect(Tensor(true).item(as: Bool.self) && !Tensor(0.0).item(as: Bool.self))
  }

  @Test func tolistNestsLikePython() {
    let m = Tensor.arange(0, 6.0).reshape(2, 3)
    #expect(m.tolist() as? [[Double]] == [[0, 1, 2], [3, 4, 5]])
    #expect(Tensor([[1, 2], [3, 4]]).tolist() as? [[Int]] == [[1, 2], [3, 4]])
    #expect(Tensor([true, false]).tolist() as? [Bool] == [true, false])
    #expect(Tensor(3.0).tolist() as? Double == 3.0)
    #expect(Tensor(7).tolist() as? Int == 7)
    #expect(Tensor.zeros(0, 2).tolist() as? [[Double]] == [])
    let cube = Tensor.arange(8).reshape(2, 2, 2)
    #expect(cube.tolist() as? [[[Int]]] == [[[0, 1], [2, 3]], [[4, 5], [6, 7]]])
    // a non-contiguous view nests in its own (logical) order
    #expect(m.T.tolist() as? [[Double]] == [[0, 3], [1, 4], [2, 5]])
    // float32 values widen exactly to Double, as Python floats
    #expect(Tensor([2.7]).tolist() as? [Double] == [Double(Float(2.7))])
    // the element type follows the dtype: an int tensor is not [Double]
    #expect(Tensor([1, 2]).tolist() as? [Double] == nil)
  }
}
