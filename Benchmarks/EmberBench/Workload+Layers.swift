// layers: where a training step's time goes, layer by layer (not part of `all`; Ember only).
// For the cnn and mlp models of the benchmark, on their benchmark batch: each layer's
// forward (recording the graph) and its backward (autograd.grad of its output, with a random
// upstream gradient, to its input and parameters), the best of `layerReps` calls each, in ms.
// The sum is a lower bound of a step (no loss, no optimizer, warm caches).
import Ember
import EmberNN

let layerReps = 20

/// Best-of-`layerReps` seconds of `body`.
private func best(_ body: () -> Void) -> Double {
  var b = Double.infinity
  for _ in 0..<layerReps {
    let t = now()
    body()
    b = min(b, now() - t)
  }
  return b
}

/// Per-layer forward and backward times of a Sequential on input `x`.
private func layerTimes(_ model: Sequential, _ x: Tensor) -> [String: Any] {
  var x = x
  var rows: [[String: Any]] = []
  var (totalForward, totalBackward) = (0.0, 0.0)
  for (i, layer) in model.children().enumerated() {
    let input = x.detach()
    // the first layer's input is data (no gradient), as in training
    if i > 0 && input.dtype.isFloatingPoint { input.requiresGrad = true }
    var y = layer(input)
    let forward = best { y = layer(input) }
    let upstream = Tensor.randn(y.shape)
    var wrt: [Tensor] = layer.parameters().map { $0 }
    if input.requiresGrad { wrt.insert(input, at: 0) }
    // the backward alone: a fresh forward (untimed) before each timed autograd.grad
    var backward = Double.infinity
    if !wrt.isEmpty {
      for _ in 0..<layerReps {
        let out = layer(input)
        let t = now()
        _ = try! grad(of: [out], withRespectTo: wrt, gradOutputs: [upstream])
        backward = min(backward, now() - t)
      }
    } else {
      backward = 0
    }
    rows.append([
      "layer": "\(i) \(type(of: layer))", "output": "\(y.shape)",
      "forward_ms": round4(forward * 1e3), "backward_ms": round4(backward * 1e3),
    ])
    totalForward += forward
    totalBackward += backward
    x = y.detach()
  }
  return [
    "layers": rows, "forward_ms": round4(totalForward * 1e3),
    "backward_ms": round4(totalBackward * 1e3),
  ]
}

func layersWorkload() -> [String: Any] {
  let (cx, _) = cnnBatchData()
  let (mx, _) = mlpBatchData()
  let cnn = layerTimes(makeCNN(), cx)
  let mlp = layerTimes(makeMLP(), mx)
  for (name, r) in [("cnn", cnn), ("mlp", mlp)] {
    warn("\(name): forward \(r["forward_ms"]!) ms, backward \(r["backward_ms"]!) ms")
    for row in r["layers"] as! [[String: Any]] {
      warn(
        "  \(row["layer"]!) \(row["output"]!): forward \(row["forward_ms"]!) ms, backward \(row["backward_ms"]!) ms"
      )
    }
  }
  return ["value": 0, "unit": "ms (see layers)", "cnn": cnn, "mlp": mlp]
}
