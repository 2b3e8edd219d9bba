import Ember
import Testing

/// Checks that an exit test stopped with `message` on standard error (a precondition's text).
func expectStopMessage(
  _ result: ExitTest.Result?, _ message: String, sourceLocation: SourceLocation = #_sourceLocation
) {
  guard let result else {
    Issue.record("the exit test did not run", sourceLocation: sourceLocation)
    return
  }
  let stderr = String(decoding: result.standardErrorContent, as: UTF8.self)
  #expect(stderr.contains(message), "stderr: \(stderr)", sourceLocation: sourceLocation)
}

/// Type promotion against PyTorch 2.15's `result_type`: a Swift `Int` is a Python int and a
/// `Double` a Python float (wrapped numbers), 0-d tensors count only when their category is higher.
/// Expected dtypes and values come from running the expression in the comment in PyTorch.
@Suite struct PromotionTests {
  let ints = Tensor([1, 2, 3])
  let floats = Tensor([1.0, 2.0, 3.0])
  let bools = Tensor([true, false, true])

  @Test func integerTensorsWithSwiftNumbers() {
    // torch.tensor([1, 2, 3]) + 2.0 -> float32 [3., 4., 5.]; + 2 -> int64
    #expect((ints + 2.0).dtype == .float32)
    #expect((ints + 2.0).scalars(as: Float.self) == [3, 4, 5])
    #expect((ints + 2).dtype == .int64)
    #expect((ints + 2).scalars(as: Int64.self) == [3, 4, 5])
    #expect((2 + ints).dtype == .int64)
    #expect((ints * 2.5).scalars(as: Float.self) == [2.5, 5, 7.5])
    #expect((ints - 2.5).scalars(as: Float.self) == [-1.5, -0.5, 0.5])
    #expect((2.5 - ints).scalars(as: Float.self) == [1.5, 0.5, -0.5])
    #expect((2 - ints).dtype == .int64)
    #expect((2 - ints).scalars(as: Int64.self) == [1, 0, -1])
    // an Int variable works as the literal does
    let n = 3
    #expect((ints * n).dtype == .int64)
    #expect((ints * n).scalars(as: Int64.self) == [3, 6, 9])
    #expect(ints.mul(n).scalars(as: Int64.self) == [3, 6, 9])
    #expect(ints.add(2.0).dtype == .float32)
    #expect(ints.rsub(2).scalars(as: Int64.self) == [1, 0, -1])
  }

  @Test func trueDivisionGivesTheDefaultFloat() {
    // i / 2 -> float32 [0.5, 1., 1.5]; i / i -> float32; 2 / i -> [2., 1., 0.6666666865348816]
    #expect((ints / 2).dtype == .float32)
    #expect((ints / 2).scalars(as: Float.self) == [0.5, 1, 1.5])
    #expect((ints / ints).dtype == .float32)
    #expect((ints / ints).scalars(as: Float.self) == [1, 1, 1])
    #expect((2 / ints).dtype == .float32)
    #expect((2 / ints).toArray() == [2, 1, 0.6666666865348816])
    // torch.tensor([5]) / 0 -> inf (true division never traps)
    #expect((Tensor([5]) / 0).toArray() == [.infinity])
    // torch.tensor(2) / 2 -> float32 1.
    #expect((Tensor(2) / 2).dtype == .float32)
  }

  @Test func integerPowersStayInt64() {
    // i ** 2 -> int64 [1, 4, 9]; i ** 2.0 -> float32; 2 ** i -> int64 [2, 4, 8]; 2.0 ** i -> float32
    #expect((ints ** 2).dtype == .int64)
    #expect((ints ** 2).scalars(as: Int64.self) == [1, 4, 9])
    #expect((ints ** 2.0).dtype == .float32)
    #expect((ints ** 2.0).scalars(as: Float.self) == [1, 4, 9])
    #expect((2 ** ints).dtype == .int64)
    #expect((2 ** ints).scalars(as: Int64.self) == [2, 4, 8])
    #expect((2.0 ** ints).dtype == .float32)
    #expect((ints ** 0).scalars(as: Int64.self) == [1, 1, 1])
    // i ** i -> int64 [1, 4, 27]; i ** torch.tensor(2.) -> float32
    #expect((ints ** ints).dtype == .int64)
    #expect((ints ** ints).scalars(as: Int64.self) == [1, 4, 27])
    #expect((ints ** Tensor(2.0)).dtype == .float32)
    // negative integer exponents of tensors follow powi: 1, 0, -1, 0, 1
    let base = Tensor([1, 2, -1, 0, -1])
    #expect((base ** Tensor([-1, -1, -3, -1, -2])).scalars(as: Int64.self) == [1, 0, -1, 0, 1])
    // 2 ** torch.tensor([-1, 3]) -> [0, 8]
    #expect((2 ** Tensor([-1, 3])).scalars(as: Int64.self) == [0, 8])
    // products wrap: 3 ** 40 and (-2) ** [63, 64]
    #expect((Tensor([3]) ** 40).scalars(as: Int64.self) == [-6_289_078_614_652_622_815])
    #expect((Tensor([3]) ** Tensor([40])).scalars(as: Int64.self) == [-6_289_078_614_652_622_815])
    #expect(((-2) ** Tensor([63, 64])).scalars(as: Int64.self) == [Int64.min, 0])
    // float tensors with integer exponents are unchanged
    #expect((floats ** 2).dtype == .float32)
    #expect((floats ** 2).scalars(as: Float.self) == [1, 4, 9])
  }

  @Test func boolTensorsWithNumbers() {
    // b + 2 -> int64 [3, 2, 3]; b + 2.0 -> float32; b * 2 -> int64 [2, 0, 2]; b / 2 -> float32
    #expect((bools + 2).dtype == .int64)
    #expect((bools + 2).scalars(as: Int64.self) == [3, 2, 3])
    #expect((bools + 2.0).dtype == .float32)
    #expect((bools + 2.0).scalars(as: Float.self) == [3, 2, 3])
    #expect((bools * 2).scalars(as: Int64.self) == [2, 0, 2])
    #expect((bools / 2).dtype == .float32)
    #expect((bools / 2).scalars(as: Float.self) == [0.5, 0, 0.5])
    // b ** 2 -> int64 [1, 0, 1]; 2 ** b -> int64 [2, 1, 2]; b ** 2.0 -> float32
    #expect((bools ** 2).dtype == .int64)
    #expect((bools ** 2).scalars(as: Int64.self) == [1, 0, 1])
    #expect((2 ** bools).scalars(as: Int64.self) == [2, 1, 2])
    #expect((bools ** 2.0).dtype == .float32)
    // torch.tensor([True]) ** torch.tensor([3]) -> int64 [1]
    #expect((Tensor([true]) ** Tensor([3])).scalars(as: Int64.self) == [1])
  }

  @Test func zeroDimTensorsCountOnlyInAHigherCategory() {
    let f0 = Tensor(2.0)
    let d0 = Tensor(2.0, dtype: .float64)
    let i0 = Tensor(2)
    let b0 = Tensor(true)
    // int64 tensor + float32 0-d -> float32; + float64 0-d -> float64; + bool 0-d -> int64
    #expect((ints + f0).dtype == .float32)
    #expect((ints + d0).dtype == .float64)
    #expect((d0 + ints).dtype == .float64)
    #expect((ints + b0).dtype == .int64)
    // bool tensor + int64 0-d -> int64; + float32 0-d -> float32; + float64 0-d -> float64
    #expect((bools + i0).dtype == .int64)
    #expect((bools + i0).scalars(as: Int64.self) == [3, 2, 3])
    #expect((bools + f0).dtype == .float32)
    #expect((bools + d0).dtype == .float64)
    // float32 tensor + float64 0-d stays float32
    #expect((floats + d0).dtype == .float32)
    #expect((floats + Tensor([1.0, 2, 3], dtype: .float64)).dtype == .float64)
    // 0-d with 0-d and with numbers: int64 0-d + 2.0 -> float32, + float64 0-d -> float64,
    // + 2 -> int64; bool 0-d + 2 -> int64; float64 0-d + 2.0 -> float64
    #expect((i0 + 2.0).dtype == .float32)
    #expect((i0 + 2.0).item() == 4)
    #expect((i0 + d0).dtype == .float64)
    #expect((i0 + f0).dtype == .float32)
    #expect((i0 + 2).dtype == .int64)
    #expect((b0 + 2).dtype == .int64)
    #expect((d0 + 2.0).dtype == .float64)
    #expect((f0 + 2.0).dtype == .float32)
    // i0 ** 2 -> int64 4; i0 ** 2.5 -> float32 5.656854152679443
    #expect((i0 ** 2).dtype == .int64)
    #expect((i0 ** 2.5).toArray() == [5.656854152679443])
    // f32 tensor + 0-d float64 computes in float32: [1.] + tensor(2**-24 + 2**-50) -> [1.]
    let tiny = Tensor(0x1p-24 + 0x1p-50, dtype: .float64)
    #expect((Tensor([1.0]) + tiny).toArray() == [1])
  }

  @Test func integerScalarsConvertDirectlyToFloat() {
    // torch.tensor([1.0]) * (2**60 + 2**36 + 1) -> 1.1529216420458004e+18 (one rounding, not
    // through double); float64 * (2**53 + 1) -> 9007199254740992.
    let big = (1 << 60) + (1 << 36) + 1
    #expect((Tensor([1.0]) * big).toArray() == [1.152_921_642_045_800_4e18])
    #expect((Tensor([1.0], dtype: .float64) * ((1 << 53) + 1)).toArray() == [9_007_199_254_740_992])
    // torch.tensor([1.5]) * 16777217 -> 25165824.
    #expect((Tensor([1.5]) * 16_777_217).toArray() == [25_165_824])
  }
}

/// Element conversions (`to(dtype)`) against PyTorch on x86-64: C casts, never a trap.
@Suite struct ConversionTests {
  @Test func outOfRangeAndNaNFloatsGiveInt64Min() {
    // torch.tensor([1e30]).to(torch.int64) -> [-9223372036854775808], same for -1e30, nan, inf
    let f32 = Tensor([1e30, -1e30, .nan, .infinity, -.infinity, 2.9, -2.9])
    #expect(
      f32.to(.int64).scalars(as: Int64.self) == [.min, .min, .min, .min, .min, 2, -2])
    // float64 1e19, 9.3e18, -9.3e18, nan, -inf -> Int64.min; the extremes that fit stay exact
    let f64 = Tensor([1e19, 9.3e18, -9.3e18, .nan, -.infinity, -0x1p63, 0x1p62], dtype: .float64)
    #expect(
      f64.to(.int64).scalars(as: Int64.self) == [.min, .min, .min, .min, .min, .min, 1 << 62])
    // long contiguous inputs (the threaded path) give the same
    let many = Tensor.full([40], 1e30)
    #expect(many.to(.int64).scalars(as: Int64.self) == Array(repeating: .min, count: 40))
    // torch.tensor([1e30]).long().item() -> -9223372036854775808
    #expect(Tensor([1e30]).item(as: Int64.self) == .min)
    #expect(Tensor([Double.nan]).scalars(as: Int64.self) == [.min])
  }

  @Test func floatsToBool() {
    // torch.tensor([nan, 0., -0., 0.1]).bool() -> [True, False, False, True]
    #expect(
      Tensor([.nan, 0, -0.0, 0.1]).to(.bool).scalars(as: Bool.self) == [true, false, false, true])
    #expect(Tensor([0, 7]).to(.bool).scalars(as: Bool.self) == [false, true])
  }

  @Test func int64ToFloatRoundsOnce() {
    // torch.tensor([2**60 + 2**36 + 1]).float() -> 1.1529216420458004e+18 (through double it
    // would round twice, to 2**60)
    let big = Tensor([(1 << 60) + (1 << 36) + 1])
    #expect(big.to(.float32).toArray() == [1.152_921_642_045_800_4e18])
    #expect(big.item(as: Float.self) == Float(1_152_921_642_045_800_448 as Int64))
    // torch.tensor([2**53 + 1]).double() -> 9007199254740992.
    #expect(Tensor([(1 << 53) + 1]).to(.float64).toArray() == [9_007_199_254_740_992])
    // torch.tensor([2**63 - 1]) + 1.0 -> float32 9.223372036854776e+18
    #expect((Tensor([Int64.max]) + 1.0).toArray() == [9.223_372_036_854_776e18])
  }
}
