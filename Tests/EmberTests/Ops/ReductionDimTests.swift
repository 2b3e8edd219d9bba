import Ember
import Testing

/// The `dim:` label of reductions: one `Int` or a list `[Int]`, with PyTorch's values, shapes and
/// node names for the same calls.
@Suite struct ReductionDimTests {
  /// `dim:` takes an Int or a list in every reduction; values, shapes and node names are
  /// PyTorch 2.15's for the same calls (`x.sum(dim=[0, 1])` records SumBackward1, every norm
  /// records LinalgVectorNormBackward0).
  @Test func dimTakesAnIntOrAListWithPyTorchsNodeNames() {
    let x = Tensor([[0.5, -1.25, 2.0], [1.5, -0.5, 3.25]], dtype: .float64)
    try! x.setRequiresGrad()
    let cases: [(String, Tensor, String, [Int], [Double])] = [
      ("sum(dim: [0, 1])", x.sum(dim: [0, 1]), "SumBackward1", [], [5.5]),
      ("sum(dim: [], keepdim)", x.sum(dim: [], keepdim: true), "SumBackward1", [1, 1], [5.5]),
      (
        "sum(dim: 1, keepdim)", x.sum(dim: 1, keepdim: true), "SumBackward1", [2, 1], [1.25, 4.25]
      ),
      ("sum()", x.sum(), "SumBackward0", [], [5.5]),
      ("mean(dim: [0, 1])", x.mean(dim: [0, 1]), "MeanBackward1", [], [0.9166666666666666]),
      (
        "mean(dim: 0, keepdim)", x.mean(dim: 0, keepdim: true), "MeanBackward1", [1, 3],
        [1.0, -0.875, 2.625]
      ),
      (
        "mean(dim: [-1])", x.mean(dim: [-1]), "MeanBackward1", [2],
        [0.4166666666666667, 1.4166666666666667]
      ),
      ("mean()", x.mean(), "MeanBackward0", [], [0.9166666666666666]),
      ("var()", x.var(), "VarBackward0", [], [2.7666666666666666]),
      (
        "var(dim: 1)", x.var(dim: 1), "VarBackward0", [2], [2.6458333333333335, 3.5208333333333335]
      ),
      (
        "var(dim: 0, correction: 0, keepdim)", x.var(dim: 0, correction: 0, keepdim: true),
        "VarBackward0", [1, 3], [0.25, 0.140625, 0.390625]
      ),
      (
        "std(dim: 0)", x.std(dim: 0), "StdBackward0", [3],
        [0.7071067811865476, 0.5303300858899106, 0.8838834764831844]
      ),
      ("norm()", x.norm(), "LinalgVectorNormBackward0", [], [4.344536799245692]),
      (
        "norm(dim: 1)", x.norm(dim: 1), "LinalgVectorNormBackward0", [2],
        [2.4109126902482387, 3.61420807370024]
      ),
      (
        "norm(p: 1, dim: 0, keepdim)", x.norm(p: 1, dim: 0, keepdim: true),
        "LinalgVectorNormBackward0", [1, 3], [2.0, 1.75, 5.25]
      ),
      (
        "norm(p: 3, dim: [0, 1])", x.norm(p: 3, dim: [0, 1]), "LinalgVectorNormBackward0", [],
        [3.631873601159871]
      ),
      (
        "logsumexp(dim: [0, 1])", x.logsumexp(dim: [0, 1]), "LogsumexpBackward0", [],
        [3.6939376850103702]
      ),
      (
        "logsumexp(dim: 1)", x.logsumexp(dim: 1), "LogsumexpBackward0", [2],
        [2.2326219831020326, 3.4300620805209254]
      ),
      ("amax(dim: [0, 1])", x.amax(dim: [0, 1]), "AmaxBackward0", [], [3.25]),
      ("amin(dim: 1)", x.amin(dim: 1), "AminBackward0", [2], [-1.25, -0.5]),
    ]
    for (name, y, node, shape, values) in cases {
      #expect(y.gradFn?.name == node, "\(name): \(y.gradFn?.name ?? "nil")")
      #expect(y.shape == shape, "\(name): shape \(y.shape)")
      expectClose(y.toArray(), values, rtol: 1e-14, atol: 0, name)
    }
  }

  /// Gradients through the new dim forms, against PyTorch.
  @Test func gradientsOfTheIntDimForms() throws {
    let values = [[0.5, -1.25, 2.0], [1.5, -0.5, 3.25]]
    var x = try Tensor(values, dtype: .float64, requiresGrad: true)
    try x.norm(dim: 1).backward(gradient: Tensor([1.0, 2], dtype: .float64))
    expectTensor(
      x.grad, shape: [2, 3],
      [
        0.20739033894608505, -0.5184758473652127, 0.8295613557843402, 0.8300573566392896,
        -0.27668578554642986, 1.798457606051794,
      ], rtol: 1e-14)
    x = try Tensor(values, dtype: .float64, requiresGrad: true)
    try x.var(dim: 0).backward(gradient: Tensor([1.0, 2, 3], dtype: .float64))
    expectTensor(x.grad, shape: [2, 3], [-1, -1.5, -3.75, 1, 1.5, 3.75], rtol: 1e-14)
  }

  /// all/any: an Int or a list; as in PyTorch an empty list reduces nothing (it tests each
  /// element), while `sum(dim: [])` covers every element.
  @Test func allAndAnyTakeAnIntOrAList() {
    let b = Tensor([[1.0, 0, 2], [3, 4, 0]])
    let empty = b.all(dim: [])
    #expect(empty.shape == [2, 3] && empty.dtype == .bool)
    #expect(empty.toArray() == [1, 0, 1, 1, 1, 0])
    #expect(b.any(dim: []).toArray() == [1, 0, 1, 1, 1, 0])
    #expect(b.all(dim: 1).toArray() == [0, 0] && b.all(dim: [1]).toArray() == [0, 0])
    #expect(b.all(dim: 0).toArray() == [1, 0, 0])
    let anyAll = b.any(dim: [0, 1])
    #expect(anyAll.shape == [] && anyAll.item() == 1)
    let anyKeep = b.any(dim: [0], keepdim: true)
    #expect(anyKeep.shape == [1, 3] && anyKeep.toArray() == [1, 1, 1])
  }

  @Test func repeatedDimInAListStops() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor([[1.0, 2.0]]).sum(dim: [0, -2])
    }
    #expect(stderrText(result).contains("sum: dim 0 appears multiple times in the list of dims"))
  }
}
