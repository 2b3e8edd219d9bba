// Draws the backward graph of a small two-layer network, as torchviz's make_dot does.
//
//   swift run ember-graph [path/to/graph.dot]
//
// Writes the DOT file (default: graph.dot in the current directory) and, when Graphviz's `dot`
// is installed, renders it to an SVG next to it.
import Ember
import Foundation

do {
  // parameters, named for the picture
  let w1 = try Tensor([[0.5, -0.3, 0.8], [0.1, 0.7, -0.6]], requiresGrad: true)
  let b1 = try Tensor([0.1, -0.2, 0.05], requiresGrad: true)
  let w2 = try Tensor([[1.2], [-0.7], [0.4]], requiresGrad: true)
  let b2 = try Tensor([0.3], requiresGrad: true)
  let x = Tensor([[1.0, 2.0]])
  x.name = "input"
  let target = Tensor([[1.0]])

  // x @ w1 written with broadcasting and a sum, so only elementwise ops are needed
  let hidden = (x.reshape([2, 1]) * w1).sum(dim: 0) + b1  // (3)
  let activation = 1 / (1 + (-hidden).exp())  // sigmoid
  let output = (activation.reshape([3, 1]) * w2).sum(dim: 0) + b2  // (1)
  let loss = ((output - target.reshape([1])) ** 2).mean()

  let dot = loss.graphDOT(params: [
    "fc1.weight": w1, "fc1.bias": b1, "fc2.weight": w2, "fc2.bias": b2,
  ])
  let arguments = CommandLine.arguments.dropFirst()
  let dotPath = arguments.first ?? "graph.dot"
  try dot.write(toFile: dotPath, atomically: true, encoding: .utf8)
  let nodes = dot.split(separator: "\n").filter { $0.contains("[label=") }.count
  print("wrote \(dotPath) (\(nodes) nodes, loss = \(loss.item()))")

  // render with Graphviz when it is installed
  let svgPath =
    dotPath.hasSuffix(".dot") ? String(dotPath.dropLast(4)) + ".svg" : dotPath + ".svg"
  let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
  let dotTool = searchPath.split(separator: ":").map { "\($0)/dot" }.first {
    FileManager.default.isExecutableFile(atPath: $0)
  }
  if let dotTool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: dotTool)
    process.arguments = ["-Tsvg", dotPath, "-o", svgPath]
    try process.run()
    process.waitUntilExit()
    if process.terminationStatus == 0 {
      print("rendered \(svgPath) with \(dotTool) -Tsvg \(dotPath) -o \(svgPath)")
    } else {
      print("dot exited with status \(process.terminationStatus); \(dotPath) is still there")
    }
  } else {
    print(
      "Graphviz's dot is not on PATH, so no SVG was rendered. Install it (apt-get install graphviz, "
        + "or brew install graphviz) and run: dot -Tsvg \(dotPath) -o \(svgPath)")
  }
} catch {
  print("error: \(error)")
}
