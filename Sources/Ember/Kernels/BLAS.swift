import CEmberKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The implementation behind float32/float64 matrix products (`matmul`, `mm`, `bmm`, ...).
public enum MatmulBackend: String, Sendable, CaseIterable, CustomStringConvertible {
  /// Ember's own cache-blocked SIMD GEMM (AVX-512, AVX2+FMA or baseline, picked at run time).
  case native
  /// A system BLAS (OpenBLAS, the reference BLAS, Accelerate) found at run time with `dlopen`.
  case blas

  /// The backend's name (`native` or `blas`).
  public var description: String { rawValue }

  /// The file name of the BLAS library that was loaded, or nil when none was found.
  public static var blasLibraryName: String? { BLAS.library?.name }
}

/// The backend matrix products use now (PyTorch has no equivalent; it always uses its BLAS).
///
/// Chosen by the `EMBER_BLAS` environment variable: `native`, `blas` or `auto` (the default:
/// BLAS when one is found, else native). `blas` without a BLAS on the machine falls back to native.
public var matmulBackend: MatmulBackend { BLAS.activeBackend }

/// Run-time BLAS binding (no link-time dependency) and the choice between it and the native GEMM.
enum BLAS {
  // cblas_?gemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
  typealias SgemmFunction =
    @convention(c) (
      Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
      UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32
    ) -> Void
  typealias DgemmFunction =
    @convention(c) (
      Int32, Int32, Int32, Int32, Int32, Int32, Double, UnsafePointer<Double>?, Int32,
      UnsafePointer<Double>?, Int32, Double, UnsafeMutablePointer<Double>?, Int32
    ) -> Void

  static let rowMajor: Int32 = 101
  static let noTrans: Int32 = 111
  static let trans: Int32 = 112

  /// A loaded BLAS. The handle is never closed; the function pointers stay valid for the process.
  struct Library: @unchecked Sendable {
    let name: String
    let sgemm: SgemmFunction
    let dgemm: DgemmFunction
  }

  #if os(macOS) || os(iOS)
    static let candidates = [
      "/System/Library/Frameworks/Accelerate.framework/Accelerate",
      "libopenblas.dylib",
    ]
  #else
    static let candidates = [
      "libopenblas.so.0", "libopenblas.so", "libblas.so.3", "libcblas.so.3",
    ]
  #endif

  /// The first candidate library that loads and exports both cblas_sgemm and cblas_dgemm.
  static let library: Library? = {
    for name in candidates {
      guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
      guard let s = dlsym(handle, "cblas_sgemm"), let d = dlsym(handle, "cblas_dgemm") else {
        dlclose(handle)
        continue
      }
      return Library(
        name: name, sgemm: unsafeBitCast(s, to: SgemmFunction.self),
        dgemm: unsafeBitCast(d, to: DgemmFunction.self))
    }
    return nil
  }()

  /// What `EMBER_BLAS` asks for (nil means auto).
  static let requested: MatmulBackend? = {
    guard let raw = getenv("EMBER_BLAS") else { return nil }
    switch String(cString: raw).lowercased() {
    case "native": return .native
    case "blas": return .blas
    default: return nil
    }
  }()

  /// The backend chosen by the environment (and the machine), before any override.
  static let defaultBackend: MatmulBackend = {
    if requested == .native { return .native }
    return library != nil ? .blas : .native
  }()

  /// Test hook: forces a backend for the current task (`BLAS.$override.withValue(.native) {...}`).
  /// `.blas` without a library still runs natively.
  @TaskLocal static var override: MatmulBackend? = nil

  static var activeBackend: MatmulBackend {
    if let o = override { return o == .blas && library == nil ? .native : o }
    return defaultBackend
  }

  /// BLAS description of a strided matrix operand: transpose flag and leading dimension, or nil
  /// when the layout is not one BLAS accepts (then the operand is copied first).
  static func layout(rows: Int, cols: Int, rowStride: Int, colStride: Int) -> (Int32, Int32)? {
    if cols == 1 || colStride == 1 {
      let ld = rows == 1 ? max(cols, 1) : rowStride
      if ld >= max(cols, 1) && ld <= Int(Int32.max) { return (noTrans, Int32(ld)) }
    }
    if rows == 1 || rowStride == 1 {
      let ld = cols == 1 ? max(rows, 1) : colStride
      if ld >= max(rows, 1) && ld <= Int(Int32.max) { return (trans, Int32(ld)) }
    }
    return nil
  }
}

extension Kernel {
  /// Kernel family of the native GEMM (tests pin one; 0 picks the best the CPU supports).
  enum GemmISA: Int32, CaseIterable {
    case auto = 0
    case baseline = 1
    case avx2 = 2
    case avx512 = 3

    /// The family actually used on this CPU when this one is asked for.
    var resolved: GemmISA {
      GemmISA(rawValue: emberSwiftGemmResolveISA(rawValue)) ?? .baseline
    }
  }

  /// `out[b] = a[b] @ b[b]` for 3-D operands `a` [B, M, K] and `b` [B, K, N] of one dtype, with any
  /// strides (0 strides from `expand` included); `out` is a new contiguous [B, M, N] tensor.
  static func batchedMatmul(
    _ a: Tensor, _ b: Tensor, backend: MatmulBackend? = nil, isa: GemmISA = .auto
  ) -> Tensor {
    precondition(
      a.rank == 3 && b.rank == 3 && a.shape[0] == b.shape[0] && a.shape[2] == b.shape[1]
        && a.dtype == b.dtype,
      "batchedMatmul: incompatible operands \(a.shape) \(a.dtype) and \(b.shape) \(b.dtype)")
    let (batch, m, k, n) = (a.shape[0], a.shape[1], a.shape[2], b.shape[2])
    let out = Tensor(uninitializedShape: [batch, m, n], dtype: a.dtype)
    if out.count == 0 { return out }
    // (an empty inner dimension just zero-fills, natively)
    let use = k == 0 ? .native : backend ?? BLAS.activeBackend
    switch a.dtype {
    case .float32:
      if use == .blas, let lib = BLAS.library,
        blasGemm(
          a, b, out, Float.self,
          { lib.sgemm(BLAS.rowMajor, $0, $1, $2, $3, $4, 1, $5, $6, $7, $8, 0, $9, $10) })
      {
        return out
      }
      nativeGemm(a, b, out, Float.self, isDouble: false, isa: isa)
    case .float64:
      if use == .blas, let lib = BLAS.library,
        blasGemm(
          a, b, out, Double.self,
          { lib.dgemm(BLAS.rowMajor, $0, $1, $2, $3, $4, 1, $5, $6, $7, $8, 0, $9, $10) })
      {
        return out
      }
      nativeGemm(a, b, out, Double.self, isDouble: true, isa: isa)
    case .int64:
      integerGemm(a, b, out)
    case .bool:
      preconditionFailure("matmul: not implemented for 'Bool' tensors")
    }
    return out
  }

  /// The native path: splits C (rows, or columns when C is wide) into blocks across threads, each
  /// block one call of the C GEMM. Every element is computed the same way whatever the split, so
  /// results do not depend on the thread count.
  private static func nativeGemm<T: TensorScalar>(
    _ a: Tensor, _ b: Tensor, _ out: Tensor, _: T.Type, isDouble: Bool, isa: GemmISA
  ) {
    let (batch, m, k, n) = (a.shape[0], a.shape[1], a.shape[2], b.shape[2])
    let (sab, sam, sak) = (a.strides[0], a.strides[1], a.strides[2])
    let (sbb, sbk, sbn) = (b.strides[0], b.strides[1], b.strides[2])
    let pa = UnsafePointer(a.basePointer(T.self))
    let pb = UnsafePointer(b.basePointer(T.self))
    let pc = out.basePointer(T.self)
    let isaCode = isa.rawValue
    let dtypeCode: Int32 = isDouble ? 1 : 0
    // one C call on rows i0..<i1, columns j0..<j1 of batch entry e
    func run(_ e: Int, _ tile: Int32, _ i0: Int, _ i1: Int, _ j0: Int, _ j1: Int) {
      emberSwiftGemm(
        isaCode, tile, dtypeCode, Int64(i1 - i0), Int64(j1 - j0), Int64(k),
        UnsafeRawPointer(pa + e * sab + i0 * sam), Int64(sam), Int64(sak),
        UnsafeRawPointer(pb + e * sbb + j0 * sbn), Int64(sbk), Int64(sbn),
        UnsafeMutableRawPointer(pc + e * m * n + i0 * n + j0), Int64(n), 1)
    }
    // cost scaled so that products of about 64^3 multiply-adds and more go parallel
    let flopsPerMatrix = m * n * max(k, 1)
    if batch >= Parallel.threadCount || batch * flopsPerMatrix < (1 << 18) {
      Parallel.forRange(batch, costPerItem: max(flopsPerMatrix / 8, 1)) { r in
        for e in r { run(e, Int32(EMBER_GEMM_TILE_AUTO), 0, m, 0, n) }
      }
      return
    }
    for e in 0..<batch {
      splitGemm(m: m, n: n, k: k, isa: isaCode, isDouble: dtypeCode, threaded: true) {
        run(e, $0, $1, $2, $3, $4)
      }
    }
  }

  /// Runs one GEMM of C = m x n (inner dimension k) as `run(tile, i0, i1, j0, j1)` calls of the
  /// C GEMM on blocks of C, all on one register tile (AVX-512 float32 has two, see
  /// `ember_gemm_pick_tile`; with one block it is that function's pick): the whole of C on the calling thread when `threaded` is false or the product
  /// is small (under 2^22 multiply-adds, about 160^3, the threshold both former copies of this
  /// split had: a hand-off to another thread costs about 10 us), else one block per thread.
  /// Every element is computed the same way whatever the split, so results do not depend on the
  /// thread count.
  ///
  /// The blocks split the larger of m and n on register-tile multiples, so each thread packs only
  /// its share of the larger operand and all of the smaller. One block per thread, not several:
  /// each block packs the smaller operand again, and with 8 blocks (the former split of
  /// `Parallel.forRange`) the MLP's 128x784 by 784x512 product packed its 128x784 operand 8
  /// times (gemm harness, CPU time of the 8 MLP products of a step, forward and backward: 4.14 ms
  /// in 8 blocks, 3.62 ms in 2; the 128x784 by 784x512 one 1.53 ms against 1.32). Large products
  /// too: 1024^3 in 8 blocks (4 per thread, taken as threads come free) against 2, C harness
  /// over ember_sgemm with 2 threads, best of 15, on a machine loaded by two other builds (where
  /// more blocks should have helped most): 52.3-58.3 ms in 8 blocks against 43.1-48.2 in 2, for
  /// each of the plain, transposed-A and transposed-B layouts; packing the whole 4 MB other
  /// operand per block costs more than the balancing gains.
  static func splitGemm(
    m: Int, n: Int, k: Int, isa: Int32, isDouble: Int32, threaded: Bool,
    _ run: (Int32, Int, Int, Int, Int) -> Void
  ) {
    if m == 0 || n == 0 { return }
    let threads = Parallel.threadCount
    guard threaded, threads > 1, m * n * Swift.max(k, 1) >= 16 * Parallel.grainSize else {
      run(ember_gemm_pick_tile(isa, isDouble, Int64(m), Int64(n)), 0, m, 0, n)
      return
    }
    let splitRows = m >= n
    let extent = splitRows ? m : n
    /// The blocks of `extent` on multiples of `unit`, one per thread (or fewer).
    func blocks(_ unit: Int) -> [Range<Int>] {
      let tiles = (extent + unit - 1) / unit
      let parts = Swift.min(threads, tiles)
      return (0..<parts).map { part in
        Swift.min(
          tiles * part / parts * unit, extent)..<Swift.min(
            tiles * (part + 1) / parts * unit, extent)
      }
    }
    // The tile whose slowest block computes the fewest padded outputs, the wide tile's counted
    // 3% cheaper (as in ember_gemm_pick_tile): a block boundary on a multiple of 48 can leave
    // the threads unequal shares (the CNN's first Linear, N = 128: 48 and 80 columns).
    var best: (tile: Int32, blocks: [Range<Int>], cost: Double)? = nil
    for tile in [Int32(EMBER_GEMM_TILE_STANDARD), Int32(EMBER_GEMM_TILE_WIDE)] {
      let (mr, nr) = (
        Int(emberSwiftGemmTileRows(isa, isDouble, tile)),
        Int(emberSwiftGemmTileCols(isa, isDouble, tile))
      )
      let split = blocks(splitRows ? mr : nr)
      let padded =
        split.map { r in
          let (rows, cols) = splitRows ? (r.count, n) : (m, r.count)
          return (rows + mr - 1) / mr * mr * ((cols + nr - 1) / nr * nr)
        }.max() ?? 0
      let cost = Double(padded) / (tile == EMBER_GEMM_TILE_WIDE ? 1.03 : 1)
      if best == nil || cost < best!.cost { best = (tile, split, cost) }
    }
    let (tile, split, _) = best!
    if split.count <= 1 {
      run(tile, 0, m, 0, n)
      return
    }
    // a cost of one grain per part makes forRange run every part on its own thread
    Parallel.forRange(split.count, costPerItem: Parallel.grainSize) { r in
      for part in r {
        let b = split[part]
        if b.isEmpty { continue }
        if splitRows {
          run(tile, b.lowerBound, b.upperBound, 0, n)
        } else {
          run(tile, 0, m, b.lowerBound, b.upperBound)
        }
      }
    }
  }

  /// The BLAS path: one cblas call per batch entry. Returns false (nothing written) when a size
  /// does not fit BLAS's 32-bit integers.
  private static func blasGemm<T: TensorScalar>(
    _ a: Tensor, _ b: Tensor, _ out: Tensor, _: T.Type,
    // (transA, transB, M, N, K, A, lda, B, ldb, C, ldc), alpha 1 and beta 0
    _ gemm: (
      Int32, Int32, Int32, Int32, Int32, UnsafePointer<T>, Int32, UnsafePointer<T>, Int32,
      UnsafeMutablePointer<T>, Int32
    ) -> Void
  ) -> Bool {
    let (batch, m, k, n) = (a.shape[0], a.shape[1], a.shape[2], b.shape[2])
    let limit = Int(Int32.max)
    guard m <= limit && n <= limit && k <= limit else { return false }
    var a = a
    var b = b
    var la = BLAS.layout(rows: m, cols: k, rowStride: a.strides[1], colStride: a.strides[2])
    if la == nil {
      a = a.contiguousCopy()
      la = BLAS.layout(rows: m, cols: k, rowStride: a.strides[1], colStride: a.strides[2])
    }
    var lb = BLAS.layout(rows: k, cols: n, rowStride: b.strides[1], colStride: b.strides[2])
    if lb == nil {
      b = b.contiguousCopy()
      lb = BLAS.layout(rows: k, cols: n, rowStride: b.strides[1], colStride: b.strides[2])
    }
    guard let la, let lb else { return false }
    let pa = UnsafePointer(a.basePointer(T.self))
    let pb = UnsafePointer(b.basePointer(T.self))
    let pc = out.basePointer(T.self)
    let (sab, sbb) = (a.strides[0], b.strides[0])
    for e in 0..<batch {
      gemm(
        la.0, lb.0, Int32(m), Int32(n), Int32(k), pa + e * sab, la.1, pb + e * sbb, lb.1,
        pc + e * m * n, Int32(max(n, 1)))
    }
    return true
  }

  /// Int64 products: a plain i-k-j loop (wrapping arithmetic, as PyTorch's integer matmul).
  private static func integerGemm(_ a: Tensor, _ b: Tensor, _ out: Tensor) {
    let (batch, m, k, n) = (a.shape[0], a.shape[1], a.shape[2], b.shape[2])
    let (sab, sam, sak) = (a.strides[0], a.strides[1], a.strides[2])
    let (sbb, sbk, sbn) = (b.strides[0], b.strides[1], b.strides[2])
    let pa = a.basePointer(Int64.self)
    let pb = b.basePointer(Int64.self)
    let pc = out.basePointer(Int64.self)
    Parallel.forRange(batch * m, costPerItem: max(n * k, 1)) { r in
      for row in r {
        let e = row / m
        let i = row % m
        let c = pc + row * n
        for j in 0..<n { c[j] = 0 }
        let arow = pa + e * sab + i * sam
        let bmat = pb + e * sbb
        for p in 0..<k {
          let x = arow[p * sak]
          let brow = bmat + p * sbk
          for j in 0..<n { c[j] &+= x &* brow[j * sbn] }
        }
      }
    }
  }
}

// Thin Swift wrappers over the native GEMM in CEmberKernels/gemm.c (see CEmberGemm.h).

/// C = A @ B (alpha 1, beta 0) for float32 (`isDouble` 0) or float64 (1) on register tile `tile`
/// (`EMBER_GEMM_TILE_*`; AUTO picks it from m and n).
func emberSwiftGemm(
  _ isa: Int32, _ tile: Int32, _ isDouble: Int32, _ m: Int64, _ n: Int64, _ k: Int64,
  _ a: UnsafeRawPointer, _ rsa: Int64, _ csa: Int64, _ b: UnsafeRawPointer, _ rsb: Int64,
  _ csb: Int64, _ c: UnsafeMutableRawPointer, _ rsc: Int64, _ csc: Int64
) {
  if isDouble != 0 {
    ember_dgemm_tiled(
      isa, tile, m, n, k, 1, a.assumingMemoryBound(to: Double.self), rsa, csa,
      b.assumingMemoryBound(to: Double.self), rsb, csb, 0, c.assumingMemoryBound(to: Double.self),
      rsc, csc)
  } else {
    ember_sgemm_tiled(
      isa, tile, m, n, k, 1, a.assumingMemoryBound(to: Float.self), rsa, csa,
      b.assumingMemoryBound(to: Float.self), rsb, csb, 0, c.assumingMemoryBound(to: Float.self),
      rsc, csc)
  }
}

/// The kernel family `isa` resolves to on this CPU.
func emberSwiftGemmResolveISA(_ isa: Int32) -> Int32 { ember_gemm_resolve_isa(isa) }

/// Rows of a register tile of a kernel family.
func emberSwiftGemmTileRows(_ isa: Int32, _ isDouble: Int32, _ tile: Int32) -> Int64 {
  var mr: Int64 = 0
  var nr: Int64 = 0
  ember_gemm_tile(isa, isDouble, tile, &mr, &nr)
  return mr
}

/// Columns of a register tile of a kernel family.
func emberSwiftGemmTileCols(_ isa: Int32, _ isDouble: Int32, _ tile: Int32) -> Int64 {
  var mr: Int64 = 0
  var nr: Int64 = 0
  ember_gemm_tile(isa, isDouble, tile, &mr, &nr)
  return nr
}
