import Ember
import Foundation
import Testing

/// `x³` whose backward is scaled by the context's `factor` (1: correct).
private enum ScaledCube: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    ctx.saveForBackward(inputs[0])
    return inputs[0] ** 3
  }

  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    let x = try ctx.savedTensors[0]
    return [gradOutputs[0] * x * x * (3 * (ctx["factor"] as! Double))]
  }
}

/// `x³` whose backward has the right value, `3x²`, but the derivative `6ax` of that value: part
/// of it goes through a detached copy of `x` (a = 1: correct).
private enum WrongSecondOrderCube: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    ctx.saveForBackward(inputs[0])
    return inputs[0] ** 3
  }

  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    let x = try ctx.savedTensors[0]
    let a = ctx["a"] as! Double
    let d = x.detach()
    return [gradOutputs[0] * (x * x * (3 * a) + d * d * (3 * (1 - a)))]
  }
}

/// `x * y` whose gradient for `y` is off by `factor`.
private enum ScaledProduct: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    ctx.saveForBackward(inputs)
    return inputs[0] * inputs[1]
  }

  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    let s = try ctx.savedTensors
    return [gradOutputs[0] * s[1], gradOutputs[0] * s[0] * (ctx["factor"] as! Double)]
  }
}

/// The oracles themselves: gradcheck and gradgradcheck pass a right backward and fail a wrong one
/// with their message, at PyTorch's tolerances (`torch.autograd.gradcheck` with eps 1e-6, atol
/// 1e-5, rtol 1e-3 accepts a backward 5e-4 off in relative terms and rejects one 2e-3 off, as
/// checked with PyTorch 2.15 on the same function and input).
@Suite struct OracleTests {
  static let x: [Double] = [0.5, -1.25, 2.0]

  func cube(_ factor: Double) -> ([Tensor]) throws -> Tensor {
    { try ScaledCube.apply([$0[0]], values: ["factor": factor]) }
  }

  func input() throws -> Tensor { try Tensor(Self.x, dtype: .float64, requiresGrad: true) }

  @Test(arguments: [1.0, 1 + 5e-4, 1 - 5e-4])
  func gradcheckPassesAWithinToleranceBackward(factor: Double) throws {
    #expect(try gradcheck(cube(factor), inputs: [input()]))
  }

  @Test(arguments: [1 + 2e-3, 1 - 2e-3, 2, 0, 1e3, -1])
  func gradcheckFailsAWrongBackward(factor: Double) throws {
    let x = try input()
    #expect(try gradcheck(cube(factor), inputs: [x], raiseOnFailure: false) == false)
    do {
      try gradcheck(cube(factor), inputs: [x])
      Issue.record("gradcheck accepted a backward off by a factor \(factor)")
    } catch let error as GradcheckError {
      #expect(error.outputIndex == 0 && error.inputIndex == 0)
      let message = error.description
      #expect(message.hasPrefix("Jacobian mismatch for output 0 with respect to input 0,"))
      #expect(message.contains("numerical:") && message.contains("analytical:"))
      // the Jacobians it reports: diagonal 3x² (numerical) and 3x² · factor (analytical)
      for (j, v) in Self.x.enumerated() {
        #expect(abs(error.numerical[j][j] - 3 * v * v) < 1e-6)
        #expect(abs(error.analytical[j][j] - 3 * v * v * factor) < 1e-9 * max(1, abs(factor)))
      }
    }
  }

  @Test func gradcheckNamesTheInputWithTheWrongGradient() throws {
    let a = try input()
    let b = try Tensor([1.5, -0.75, 0.25], dtype: .float64, requiresGrad: true)
    let f: ([Tensor]) throws -> Tensor = {
      try ScaledProduct.apply([$0[0], $0[1]], values: ["factor": 1.003])
    }
    do {
      try gradcheck(f, inputs: [a, b])
      Issue.record("gradcheck accepted a gradient 3e-3 off for input 1")
    } catch let error as GradcheckError {
      #expect(error.inputIndex == 1)
      #expect(
        error.description.hasPrefix("Jacobian mismatch for output 0 with respect to input 1,"))
    }
  }

  func wrongSecondOrder(_ a: Double) -> ([Tensor]) throws -> Tensor {
    { try WrongSecondOrderCube.apply([$0[0]], values: ["a": a]) }
  }

  @Test(arguments: [1.0, 1 + 5e-4])
  func gradgradcheckPassesAWithinToleranceDoubleBackward(a: Double) throws {
    #expect(try gradcheck(wrongSecondOrder(a), inputs: [input()]))
    #expect(try gradgradcheck(wrongSecondOrder(a), inputs: [input()]))
  }

  @Test(arguments: [1 + 2e-3, 1 - 2e-3, 0, 2])
  func gradgradcheckFailsAWrongDoubleBackward(a: Double) throws {
    // the first derivative is right: gradcheck passes, only gradgradcheck can see the error
    #expect(try gradcheck(wrongSecondOrder(a), inputs: [input()]))
    #expect(
      try gradgradcheck(wrongSecondOrder(a), inputs: [input()], raiseOnFailure: false) == false)
    do {
      try gradgradcheck(wrongSecondOrder(a), inputs: [input()])
      Issue.record("gradgradcheck accepted a double backward off by a factor \(a)")
    } catch let error as GradcheckError {
      #expect(
        error.description.hasPrefix("Jacobian mismatch for output 0 with respect to input 0,"))
      // d(grad)/dx = 6 a x v against 6 x v, v the fixed upstream gradient
      let v0 = 0.5
      #expect(abs(error.numerical[0][0] - 6 * Self.x[0] * v0) < 1e-5)
      #expect(abs(error.analytical[0][0] - 6 * a * Self.x[0] * v0) < 1e-9)
    }
  }
}
