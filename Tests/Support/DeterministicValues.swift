// The deterministic inputs of the reliability tests, computed as the fixture script
// (Tests/EmberTests/Fixtures/make_reliability_fixtures.py, `det`) computes them.
import Foundation

/// A float64 tensor of `shape` holding `scale * sin(0.7 * (i + 10 k) + 0.3)` for `i` in
/// `0..<count` (glibc's sin, as Python's math.sin).
public func det(_ shape: [Int], k: Int = 0, scale: Double = 1, requiresGrad: Bool = false)
  -> Tensor
{
  let n = shape.reduce(1, *)
  let values = (0..<n).map { scale * sin(0.7 * Double($0 + 10 * k) + 0.3) }
  let t = Tensor(shape: shape, scalars: values)
  if requiresGrad { _ = try! t.setRequiresGrad() }
  return t
}
