#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

extension SafeTensors {
  /// Saves `tensors` to `url` as safetensors, atomically: the bytes go to a temporary file in the
  /// same folder, which is synced (`fsync`) and renamed over `url`, so a crash at any moment
  /// leaves either the previous file or the complete new one.
  ///
  /// The layout is the reference writer's (`safetensors.torch.save_file`): tensors sorted by dtype
  /// (I64, F64, F32, BOOL: descending alignment) then by name, offsets contiguous from 0, the
  /// header padded with spaces to a multiple of 8 bytes. `__metadata__` holds `"format": "pt"`
  /// (the Hugging Face convention `transformers` checks) plus `metadata`, whose entries win.
  /// Non-contiguous tensors are written compacted; tensors that share memory are each written in
  /// full.
  public static func save(
    _ tensors: StateDict, to url: URL, metadata: [String: String] = [:]
  ) throws(SafeTensorsError) {
    let path = url.path
    let layout: Layout
    do {
      layout = try Layout(tensors, metadata: metadata)
    } catch let p as SafeTensorsError.Problem {
      throw SafeTensorsError(file: path, problem: p)
    } catch {
      throw SafeTensorsError(file: path, problem: .writeFailed("\(error)"))
    }
    do {
      try FileIO.writeAtomically(path: path) { writer in
        try writer.write(layout.prefix)
        for entry in layout.entries { try entry.write(&writer) }
      }
    } catch {
      throw SafeTensorsError(file: path, problem: .writeFailed("\(error)"))
    }
  }

  /// The bytes ``save(_:to:metadata:)`` writes, in memory.
  public static func serialize(_ tensors: StateDict, metadata: [String: String] = [:])
    throws(SafeTensorsError) -> [UInt8]
  {
    do {
      let layout = try Layout(tensors, metadata: metadata)
      var out = layout.prefix
      for entry in layout.entries { entry.append(to: &out) }
      return out
    } catch let p as SafeTensorsError.Problem {
      throw SafeTensorsError(file: "<memory>", problem: p)
    } catch {
      throw SafeTensorsError(file: "<memory>", problem: .writeFailed("\(error)"))
    }
  }

  /// The header and the order of the tensors, as the reference writer's `prepare`.
  struct Layout {
    struct Entry {
      let name: String
      let dtype: DType
      let tensor: Tensor

      var byteCount: Int { tensor.count * dtype.bitSize / 8 }

      /// Calls `body` with the tensor's little-endian bytes (a contiguous copy).
      func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch tensor.dtype {
        case .float32: return try tensor.scalars(as: Float.self).withUnsafeBytes(body)
        case .float64: return try tensor.scalars(as: Double.self).withUnsafeBytes(body)
        case .int64: return try tensor.scalars(as: Int64.self).withUnsafeBytes(body)
        case .bool:
          return try tensor.scalars(as: Bool.self).map { $0 ? UInt8(1) : 0 }.withUnsafeBytes(body)
        }
      }

      func write(_ writer: inout FileIO.ChunkWriter) throws {
        try withBytes { try writer.write($0) }
      }

      func append(to out: inout [UInt8]) { withBytes { out.append(contentsOf: $0) } }
    }

    var entries: [Entry]
    /// The 8-byte length and the padded header.
    var prefix: [UInt8]

    init(_ tensors: StateDict, metadata: [String: String]) throws {
      #if _endian(big)
        preconditionFailure("SafeTensors.save: big-endian hosts are not supported")
      #endif
      entries = tensors.map { Entry(name: $0.key, dtype: DType($0.value.dtype), tensor: $0.value) }
      entries.sort {
        $0.dtype != $1.dtype
          ? $0.dtype > $1.dtype : Array($0.name.utf8).lexicographicallyPrecedes($1.name.utf8)
      }
      var meta = ["format": "pt"]
      meta.merge(metadata) { _, new in new }
      let metaMembers = meta.keys.sorted { Array($0.utf8).lexicographicallyPrecedes($1.utf8) }
        .map { (key: $0, value: JSON.string(meta[$0]!)) }
      var members: [(key: String, value: JSON)] = [("__metadata__", .object(metaMembers))]
      var offset = 0
      for e in entries {
        let n = e.byteCount
        members.append(
          (
            e.name,
            .object([
              ("dtype", .string(e.dtype.rawValue)),
              ("shape", .array(e.tensor.shape.map { .number(String($0)) })),
              ("data_offsets", .array([.number(String(offset)), .number(String(offset + n))])),
            ])
          ))
        offset += n
      }
      var header = Array(JSON.object(members).serialized.utf8)
      let padded = (header.count + 7) / 8 * 8
      header.append(contentsOf: [UInt8](repeating: 0x20, count: padded - header.count))
      guard header.count <= SafeTensors.maximumHeaderSize else {
        throw SafeTensorsError.Problem.headerTooLarge(headerSize: UInt64(header.count))
      }
      let n = UInt64(header.count)
      prefix = (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * $0)) } + header
    }
  }
}
