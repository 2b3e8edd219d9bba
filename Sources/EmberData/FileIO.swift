#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// POSIX file access for the readers and the atomic writer: sizes come from `fstat`, reads are
/// bounded by them, and writes go through a temporary file that is synced and renamed.
enum FileIO {
  /// A failed system call: what was being done and `strerror(errno)`.
  struct Failure: Error, CustomStringConvertible {
    let action: String
    let reason: String
    var description: String { "\(action): \(reason)" }

    init(_ action: String, errno code: Int32 = errno) {
      self.action = action
      self.reason = String(cString: strerror(code))
    }

    init(_ action: String, reason: String) {
      self.action = action
      self.reason = reason
    }
  }

  /// Gives the heap's free pages back to the system after a bulk load (glibc's `malloc_trim(0)`,
  /// looked up at run time; nothing where the C library has no such call).
  ///
  /// Loading MNIST frees tens of megabytes of scratch (each file's bytes, the inflated data and
  /// the inflater's doubling buffers). Each freed block of up to 32 MiB raises glibc's dynamic
  /// mmap threshold to its size, so the next blocks of that size come from the heap and stay
  /// resident after they are freed. Measured on the mnist benchmark: resident set after loading
  /// 247.7 -> 231.1 MB (16.6 MB of freed scratch returned), in well under a millisecond.
  static func releaseFreedHeap() {
    guard let trim = mallocTrim else { return }
    _ = trim(0)
  }

  private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
    guard let process = dlopen(nil, RTLD_NOW), let f = dlsym(process, "malloc_trim") else {
      return nil
    }
    return unsafeBitCast(f, to: (@convention(c) (Int) -> Int32).self)
  }()

  /// An open file for reading, closed when released.
  final class Reader {
    let fd: Int32
    /// The file's size when it was opened.
    let size: Int

    init(path: String) throws {
      let fd = open(path, O_RDONLY | O_CLOEXEC)
      guard fd >= 0 else { throw Failure("cannot open the file") }
      var st = stat()
      guard fstat(fd, &st) == 0 else {
        let e = errno
        close(fd)
        throw Failure("cannot stat the file", errno: e)
      }
      guard (st.st_mode & mode_t(S_IFMT)) == mode_t(S_IFREG) else {
        close(fd)
        throw Failure("cannot read the file", reason: "not a regular file")
      }
      self.fd = fd
      self.size = Int(st.st_size)
    }

    deinit { close(fd) }

    /// Reads exactly `count` bytes at `offset` into `buffer`; a short read (the file shrank
    /// after it was opened) throws.
    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) throws {
      var done = 0
      while done < count {
        let n = pread(fd, buffer + done, min(count - done, 1 << 30), off_t(offset + done))
        if n < 0 {
          if errno == EINTR { continue }
          throw Failure("cannot read the file")
        }
        if n == 0 {
          throw Failure(
            "cannot read the file",
            reason: "it ended after \(offset + done) bytes, \(offset + count) expected")
        }
        done += n
      }
    }

    /// `count` bytes at `offset` (the caller has checked them against `size`).
    func bytes(count: Int, at offset: Int) throws -> [UInt8] {
      var out = [UInt8](repeating: 0, count: count)
      try out.withUnsafeMutableBytes { (p) throws in
        if count > 0 { try read(into: p.baseAddress!, count: count, at: offset) }
      }
      return out
    }

    /// The whole file, as large as `fstat` says it is.
    func readAll() throws -> [UInt8] { try bytes(count: size, at: 0) }
  }

  /// Test hook: called after each chunk the atomic writer writes, with the bytes written so far
  /// (the atomic-save test kills its process from here).
  nonisolated(unsafe) static var afterChunkWritten: ((Int) -> Void)?

  /// Writes a file atomically: the bytes `produce` hands to its writer go to a temporary file in
  /// the same folder, which is flushed with `fsync` and renamed over `path` (then the folder is
  /// synced), so a crash at any point leaves either the old file or the complete new one.
  static func writeAtomically(
    path: String, _ produce: (inout ChunkWriter) throws -> Void
  ) throws {
    let (folder, name) = split(path)
    var attempt = 0
    var fd: Int32 = -1
    var temp = ""
    repeat {
      temp = folder + "/." + name + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
      fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
      attempt += 1
    } while fd < 0 && errno == EEXIST && attempt < 16
    guard fd >= 0 else { throw Failure("cannot create a temporary file in \(folder)") }
    var ok = false
    defer {
      if !ok {
        close(fd)
        unlink(temp)
      }
    }
    var writer = ChunkWriter(fd: fd)
    try produce(&writer)
    try writer.flush()
    guard fsync(fd) == 0 else { throw Failure("cannot sync the temporary file") }
    guard close(fd) == 0 else {
      ok = true  // the descriptor is gone either way
      unlink(temp)
      throw Failure("cannot close the temporary file")
    }
    ok = true
    guard rename(temp, path) == 0 else {
      let e = errno
      unlink(temp)
      throw Failure("cannot rename the temporary file over the destination", errno: e)
    }
    // make the rename itself durable
    let dir = open(folder, O_RDONLY | O_CLOEXEC)
    if dir >= 0 {
      _ = fsync(dir)
      close(dir)
    }
  }

  /// Buffers writes into 1 MiB chunks.
  struct ChunkWriter {
    let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var written = 0
    static let chunkSize = 1 << 20

    init(fd: Int32) {
      self.fd = fd
      buffer.reserveCapacity(ChunkWriter.chunkSize)
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
      var rest = bytes[...]
      while !rest.isEmpty {
        let take = min(ChunkWriter.chunkSize - buffer.count, rest.count)
        buffer.append(contentsOf: rest.prefix(take))
        rest = rest.dropFirst(take)
        if buffer.count == ChunkWriter.chunkSize { try flush() }
      }
    }

    mutating func write(_ bytes: [UInt8]) throws {
      try bytes.withUnsafeBytes { (p) throws in try write(p) }
    }

    mutating func flush() throws {
      var done = 0
      let total = buffer.count
      try buffer.withUnsafeBytes { (p) throws in
        while done < total {
          let n = posixWrite(fd, p.baseAddress! + done, total - done)
          if n < 0 {
            if errno == EINTR { continue }
            throw Failure("cannot write the temporary file")
          }
          done += n
        }
      }
      written += total
      buffer.removeAll(keepingCapacity: true)
      if total > 0, let hook = FileIO.afterChunkWritten { hook(written) }
    }
  }

  /// The folder and file name of a path ("." for a bare name).
  static func split(_ path: String) -> (folder: String, name: String) {
    guard let slash = path.lastIndex(of: "/") else { return (".", path) }
    let folder = String(path[..<slash])
    return (folder.isEmpty ? "/" : folder, String(path[path.index(after: slash)...]))
  }
}

/// `write(2)` (the name is shadowed inside `ChunkWriter`).
private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
  write(fd, p, n)
}
