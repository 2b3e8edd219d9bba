import Ember
import Testing

/// A custom function that saves its input and keeps a non-tensor value.
private enum Scaled: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    ctx.saveForBackward(inputs[0])
    ctx["factor"] = 2.5
    return inputs[0] * 2.5
  }

  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    [gradOutputs[0] * (ctx["factor", as: Double.self] ?? 0)]
  }
}

/// The body lines of a DOT document (without the header and the closing brace).
private func bodyLines(_ dot: String) -> [String] {
  let lines = dot.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
  return Array(lines.dropFirst(3).dropLast(2))
}

@Suite struct GraphVizTests {
  private let header = """
    digraph {
    \tgraph [size="12,12"]
    \tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]

    """

  @Test func tutorialGraphMatchesTorchvizLayout() throws {
    // make_dot(z, params={'x': x, 'w': w, 'b': b}) with z = (w*x + b)**2 (seed tutorial 002)
    let x = try Tensor(2.0, requiresGrad: true)
    let w = try Tensor(3.0, requiresGrad: true)
    let b = try Tensor(1.0, requiresGrad: true)
    let z = (w * x + b) ** 2
    let dot = z.graphDOT(params: ["x": x, "w": w, "b": b])
    let expected =
      header + """
        \t0 [label="\\n ()" fillcolor=darkolivegreen1]
        \t1 [label="PowBackward0"]
        \t2 -> 1
        \t2 [label="AddBackward0"]
        \t3 -> 2
        \t4 -> 2
        \t3 [label="MulBackward0"]
        \t5 -> 3
        \t6 -> 3
        \t7 [label="w\\n ()" fillcolor=lightblue]
        \t7 -> 5
        \t5 [label="AccumulateGrad"]
        \t8 [label="x\\n ()" fillcolor=lightblue]
        \t8 -> 6
        \t6 [label="AccumulateGrad"]
        \t9 [label="b\\n ()" fillcolor=lightblue]
        \t9 -> 4
        \t4 [label="AccumulateGrad"]
        \t1 -> 0
        }

        """
    #expect(dot == expected)
    // deterministic
    #expect(z.graphDOT(params: ["x": x, "w": w, "b": b]) == dot)
  }

  @Test func labelsUseParamsThenTensorNamesThenNothing() throws {
    let weight = try Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requiresGrad: true)
    let bias = try Tensor([1.0, 2.0, 3.0], requiresGrad: true)
    bias.name = "fc.bias"
    let anonymous = try Tensor([1.0, 1.0, 1.0], requiresGrad: true)
    let y = (weight * bias + anonymous).sum(dim: 0)
    y.name = "ignored for outputs? no: shown"
    let dot = y.graphDOT(params: ["fc.weight": weight])
    #expect(dot.contains("[label=\"fc.weight\\n (2, 3)\" fillcolor=lightblue]"))
    #expect(dot.contains("[label=\"fc.bias\\n (3)\" fillcolor=lightblue]"))
    #expect(dot.contains("[label=\"\\n (3)\" fillcolor=lightblue]"))
    #expect(
      dot.contains("[label=\"ignored for outputs? no: shown\\n (3)\" fillcolor=darkolivegreen1]"))
    #expect(dot.contains("[label=\"SumBackward1\"]"))
    // three leaves, three accumulators
    #expect(bodyLines(dot).filter { $0.contains("fillcolor=lightblue") }.count == 3)
    #expect(bodyLines(dot).filter { $0.contains("\"AccumulateGrad\"") }.count == 3)
  }

  @Test func labelsAreEscaped() throws {
    let x = try Tensor([1.0], requiresGrad: true)
    let dot = (x * 2).graphDOT(params: ["a \"quoted\" \\ name": x])
    #expect(dot.contains("[label=\"a \\\"quoted\\\" \\\\ name\\n (1)\" fillcolor=lightblue]"))
  }

  @Test func savedTensorsAreShownOnRequest() throws {
    let a = try Tensor([1.0, 2.0], requiresGrad: true)
    let b = try Tensor([3.0, 4.0], requiresGrad: true)
    let y = (a * b).exp()
    let plain = y.graphDOT(params: ["a": a, "b": b])
    #expect(!plain.contains("orange"))

    let detailed = y.graphDOT(params: ["a": a, "b": b], showAttributes: true)
    let lines = bodyLines(detailed)
    // exp saves its output ("result"); mul saves both inputs, which are the leaves (kept blue)
    #expect(lines.contains { $0.hasSuffix("[label=\"result\\n (2)\" fillcolor=orange]") })
    #expect(lines.filter { $0.hasSuffix("[dir=none]") }.count == 3)
    #expect(lines.filter { $0.contains("fillcolor=orange") }.count == 1)
    #expect(lines.filter { $0.contains("fillcolor=lightblue") }.count == 2)

    // once backward freed them, saved tensors are left out
    try y.sum().backward()
    #expect(!y.graphDOT(showAttributes: true).contains("dir=none"))
  }

  @Test func customFunctionsShowSavedTensorsAndValues() throws {
    let x = try Tensor([1.0, 2.0, 3.0], requiresGrad: true)
    let y = try Scaled.apply(x)
    let dot = y.graphDOT(params: ["x": x])
    #expect(dot.contains("[label=\"ScaledBackward\"]"))
    // the saved input is the leaf x: drawn once (blue), linked to the node without direction
    #expect(dot.contains("[dir=none]"))
    #expect(!dot.contains("orange"))

    let detailed = y.graphDOT(params: ["x": x], showAttributes: true)
    #expect(detailed.contains("[label=\"ScaledBackward\\n--------------\\nfactor: 2.5\"]"))
  }

  @Test func viewsShowTheirBase() throws {
    let x = try Tensor([[1.0, 2.0], [3.0, 4.0]], requiresGrad: true)
    let base = x * 2
    let v = base.transpose(0, 1)
    let lines = bodyLines(v.graphDOT())
    #expect(lines.first == "\t0 [label=\"\\n (2, 2)\" fillcolor=darkolivegreen1]")
    #expect(lines.contains { $0.contains("[label=\"TransposeBackward0\"]") })
    #expect(lines.contains { $0.hasSuffix("fillcolor=darkolivegreen3]") })
    #expect(lines.contains { $0.hasSuffix(" -> 0 [style=dotted]") })
  }

  @Test func severalOutputsShareOneGraph() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let h = x * 3
    let dot = Tensor.graphDOT(of: [h.exp(), h.log()], params: ["x": x])
    let lines = bodyLines(dot)
    #expect(lines.filter { $0.contains("fillcolor=darkolivegreen1") }.count == 2)
    #expect(lines.filter { $0.contains("[label=\"MulBackward0\"]") }.count == 1)
    #expect(lines.filter { $0.contains("[label=\"AccumulateGrad\"]") }.count == 1)
  }

  @Test func longChainExportsWithoutRecursion() throws {
    let leaf = try Tensor(1.0, requiresGrad: true)
    var t = leaf
    for _ in 0..<100_000 { t = t * 1.0 }
    let dot = t.graphDOT(params: ["start": leaf])
    let lines = bodyLines(dot)
    // output, 100,000 multiplications, the accumulator and the leaf; 100,002 edges
    #expect(lines.count == 100_003 + 100_002)
    #expect(lines.filter { $0.contains("\"MulBackward0\"") }.count == 100_000)
    #expect(lines.filter { $0.contains(" -> ") }.count == 100_002)
    #expect(dot.contains("[label=\"start\\n ()\" fillcolor=lightblue]"))
    // torchviz's resize_graph: 0.15 inch per body line
    #expect(dot.contains("graph [size=\"30000.75,30000.75\"]"))
  }
}
