import CEmberFuzz

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Shared plumbing of the fuzz executables (Fuzz/README in docs/reliability.md).
///
/// Built with `-Xswiftc -sanitize=fuzzer,address -Xswiftc -DEMBER_LIBFUZZER`, each executable is a
/// libFuzzer binary: its `main` hands the command line to libFuzzer's driver with the target's
/// body. Built plainly (`swift build`), each is a replay tool: `<target> FILE...` runs the same
/// body on each file and prints what happened, so a crasher can be rerun without the fuzzer.
public enum FuzzSupport {
  /// A private scratch file (in /dev/shm when it exists) that readers needing a path open.
  public static let scratchPath: String = {
    var st = stat()
    let folder = stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp"
    return "\(folder)/ember-fuzz-\(getpid()).bin"
  }()

  /// Writes `bytes` to ``scratchPath`` (replacing it) and returns the path.
  @discardableResult
  public static func writeScratch(_ bytes: UnsafeRawBufferPointer) -> String {
    let fd = open(scratchPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    precondition(fd >= 0, "cannot create \(scratchPath)")
    var done = 0
    while done < bytes.count {
      let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
      precondition(n > 0, "cannot write \(scratchPath)")
      done += n
    }
    close(fd)
    return scratchPath
  }

  /// The bytes of the file at `path`.
  public static func readFile(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, 1 << 16, f) }
      if n == 0 { break }
      out += chunk[0..<n]
    }
    return out
  }

  /// The executable's main: libFuzzer's driver in a fuzzer build, else ``replay(_:_:)``.
  /// `seeds` makes the target's seed inputs by name: `<target> --write-seeds DIR` writes them.
  public static func main(
    _ name: String, _ body: @escaping (UnsafeRawBufferPointer) -> String,
    entry: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt,
    seeds: (() -> [String: [UInt8]])? = nil
  ) {
    #if EMBER_LIBFUZZER
      var argc = CommandLine.argc
      var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
      exit(LLVMFuzzerRunDriver(&argc, &argv, entry))
    #else
      let args = CommandLine.arguments
      if args.count == 3 && args[1] == "--write-seeds", let seeds {
        for (file, bytes) in seeds() {
          let path = args[2] + "/" + file
          let f = fopen(path, "wb")!
          _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
          fclose(f)
          print("wrote \(path) (\(bytes.count) bytes)")
        }
        unlink(scratchPath)
        return
      }
      replay(name, body)
    #endif
  }

  /// The replay tool's main: runs `body` on each file named on the command line and prints its
  /// verdict (the body returns a short description: "accepted ..." or the error).
  public static func replay(_ name: String, _ body: (UnsafeRawBufferPointer) -> String) {
    let paths = CommandLine.arguments.dropFirst()
    if paths.isEmpty {
      print("usage: \(name) FILE... (runs the fuzz body on each file; see docs/reliability.md)")
      return
    }
    for path in paths {
      guard let bytes = readFile(path) else {
        print("\(path): cannot read")
        continue
      }
      let verdict = bytes.withUnsafeBytes { body($0) }
      print("\(path): \(verdict)")
    }
    unlink(scratchPath)
  }
}
