import Ember
import Foundation
import Testing

/// Autograd under stress: graphs that reuse values, in-place writes through views of views,
/// repeated backward passes and a training loop with hooks and a checkpointed segment. Every
/// expected value is PyTorch 2.15's, printed by Fixtures/make_reliability_fixtures.py (the case
/// name is in the comment beside each constant).
@Suite struct StressTests {
  @Test func diamondGraph() throws {
    // diamond.grad: a feeds b and c, both feed d, b is used again after d
    let x = det([4], requiresGrad: true)
    let a = x * 2
    let b = a.exp()
    let c = a.sin()
    let d = b * c + a * a
    try ((d * b).sum() + c.sum()).backward()
    expectClose(
      x.grad!.toArray(),
      [19.876422985670178, 175.11250381390224, 265.1849053882993, 100.08901383734451],
      rtol: 1e-12, atol: 0)
  }

  @Test func oneTensorUsedThousandsOfTimes() throws {
    // manyUses.grad: x enters 2000 nodes; its accumulator receives every contribution once
    let x = det([3], k: 1, requiresGrad: true)
    var s = Tensor.zeros([3], dtype: .float64)
    for k in 0..<1000 {
      s = s + x * Double(k % 7) - (x * (0.001 * Double(k))).sin()
    }
    try (s * s).sum().backward()
    expectClose(
      x.grad!.toArray(), [11106412.373105241, 13117428.881068345, 8508667.695994304],
      rtol: 1e-11, atol: 0)
  }

  @Test func viewsOfViewsWrittenInPlace() throws {
    // viewsOfViews.*: base[1:][:, 1:4].t() multiplied in place by y, then its row 0 incremented
    let leaf = det([4, 5], k: 2, requiresGrad: true)
    let y = det([3, 3], k: 3, requiresGrad: true)
    let base = leaf * 1
    let v = base[1...]
    let w = v[.all, 1..<4]
    let u = w.t()
    try u.mulInPlace(y)
    try u[0].addInPlace(1)
    #expect(base.gradFn?.name == "CopySlices")
    // PyTorch regenerates the view's node when grad_fn is read after its base changed
    #expect(w.gradFn?.name == "AsStridedBackward0")
    try (base.sin() * det([4, 5], k: 4)).sum().backward()
    expectClose(
      leaf.grad!.toArray(),
      [
        -0.014150377042714738, -0.5281925585074159, -0.98945571059641, -0.682716387100041,
        -0.17201505943051726, 0.24241701027043494, 0.399855736899215, -0.9097163056688067,
        0.20887742907777193, -0.023517685163518712, -0.5433501350762167, 0.004742487404226555,
        0.6122464108427601, -0.16752602445007836, 0.254986916396237, 0.8444680960016633,
        -0.45666052321422723, -0.18731334722836715, -0.033243069401196014, -0.558526405271344,
      ], rtol: 1e-12, atol: 1e-15)
    expectClose(
      y.grad!.toArray(),
      [
        -0.2148383833565711, 0.004742487404226555, 0.25188520807573467, 0.3164598897617177,
        0.464127268121428, 0.5022858955493164, 0.5047404330420839, 0.1887631137729104,
        -0.033243069401196014,
      ], rtol: 1e-12, atol: 1e-15)
  }

  @Test func retainGraphThenMoreBackwards() throws {
    // retain.*: two outputs share h; gradients accumulate over three passes, the fourth throws
    let x = det([3], k: 5, requiresGrad: true)
    let h = x.exp() * x
    let y1 = h.sum()
    let y2 = (h * h).sum()
    try y1.backward(retainGraph: true)
    expectClose(
      x.grad!.toArray(), [0.1647224480976323, 0.003049357246944273, 0.06857797436411261],
      rtol: 1e-12, atol: 0)
    try y2.backward(retainGraph: true)
    expectClose(
      x.grad!.toArray(), [0.051437833589768445, 0.0008058418029955883, 0.018830821750374427],
      rtol: 1e-12, atol: 0)
    try y2.backward()
    expectClose(
      x.grad!.toArray(), [-0.06184678091809542, -0.0014376736409530966, -0.03091633086336376],
      rtol: 1e-12, atol: 0)
    // retain.fourth: PyTorch's RuntimeError
    #expect(throws: AutogradError.graphFreed) { try y2.backward() }
    #expect(
      AutogradError.graphFreed.description.hasPrefix(
        "Trying to backward through the graph a second time (or directly access saved tensors "
          + "after they have already been freed)."))
  }

  @Test func hooksAndCheckpointInATrainingLoop() throws {
    // loop.*: a leaf hook (registered once) halves W2's gradient, a hook registered on h0 each
    // step doubles it, the middle segment is checkpointed (use_reentrant=True)
    let w1 = det([4, 3], k: 6, scale: 0.5, requiresGrad: true)
    let w2 = det([3, 2], k: 7, scale: 0.5, requiresGrad: true)
    let x = det([5, 4], k: 8)
    let target = det([5, 2], k: 9)
    _ = try w2.registerHook { $0 * 0.5 }
    var losses: [Double] = []
    for _ in 0..<4 {
      let h0 = x.matmul(w1)
      _ = try h0.registerHook { $0 * 2 }
      let seg = try checkpoint({ $0[0].tanh() * $0[0].sigmoid() }, inputs: [h0])
      #expect(seg.gradFn?.name == "CheckpointFunctionBackward")
      let loss = ((seg.matmul(w2) - target) ** 2).mean()
      try loss.backward()
      losses.append(loss.item())
      try withNoGrad {
        try w1.subInPlace(w1.grad! * 0.1)
        try w2.subInPlace(w2.grad! * 0.1)
      }
      w1.grad = nil
      w2.grad = nil
    }
    expectClose(
      losses,
      [0.48800731126147623, 0.48548678723406613, 0.48318356784492167, 0.4810800051043804],
      rtol: 1e-12, atol: 0)
    expectClose(
      w1.toArray(),
      [
        -0.47436813049769283, -0.4547771814690328, -0.18134887612536732, 0.21678627887861507,
        0.4260554388361651, 0.45348942073218107, 0.2909185787931274, -0.03506571012025782,
        -0.3561380540644733, -0.5135202380153361, -0.38315195416390596, -0.10884042635158639,
      ], rtol: 1e-12, atol: 1e-15)
    expectClose(
      w2.toArray(),
      [
        -0.4109394203305781, -0.13089807410464382, 0.20946959009004723, 0.45086325946430456,
        0.4806022795392949, 0.28085302635140685,
      ], rtol: 1e-12, atol: 1e-15)
  }

  @Test func longChainWithFanOutAtEveryStep() throws {
    // 20,000 nodes: a chain that takes x again at every step; the leaf's gradient is the exact
    // sum of 10,001 parts (PyTorch: 5001.0), and the graph's teardown does not recurse
    let x = try Tensor([1.5], requiresGrad: true)
    var s = x * 1
    for _ in 0..<10_000 { s = s + x * 0.5 }
    try s.sum().backward()
    #expect(x.grad?.toArray() == [5001])
  }
}
