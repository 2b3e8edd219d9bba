import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// PyTorch's `UserWarning`s (its `TORCH_WARN_ONCE` and Python `warnings.warn` with the default
/// filter): a line `warning: <message>` on standard error, once per process and key.
enum Warnings {
  private static let warned = Mutex<Set<String>>([])

  /// Prints `message` unless a warning with this key was already printed in this process.
  static func once(_ key: String, _ message: String) {
    let first = warned.withLock { $0.insert(key).inserted }
    guard first else { return }
    var bytes = Array(("warning: " + message + "\n").utf8)
    _ = write(2, &bytes, bytes.count)
  }
}
