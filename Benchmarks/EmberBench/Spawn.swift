// Child processes (PyTorch's script, numpy snippets, this executable per workload or backend),
// started with posix_spawn and reaped with wait4 so their peak resident memory is known:
// Foundation's Process does not report it.
#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

#if canImport(Glibc)
  import Glibc
#endif

struct ChildResult {
  /// The JSON objects among the child's stdout lines.
  var lines: [[String: Any]]
  /// The other stdout lines.
  var text: [String]
  var exitStatus: Int32
  /// The child's peak resident set (wait4's ru_maxrss), MB.
  var peakRSSMegabytes: Double
}

/// Runs `argv` (searched on PATH) with the environment changed by `env` (nil values remove a
/// variable), stdout captured and stderr passed through. Nil when it cannot be started.
func spawn(_ argv: [String], env: [String: String?] = [:]) -> ChildResult? {
  var merged = environment
  for (k, v) in env { merged[k] = v }
  var fds: [Int32] = [0, 0]
  guard pipe(&fds) == 0 else { return nil }
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_addclose(&actions, fds[0])
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
  posix_spawn_file_actions_addclose(&actions, fds[1])
  let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
  let cEnv: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
  defer {
    for p in cArgs { free(p) }
    for p in cEnv { free(p) }
  }
  var pid: pid_t = 0
  let rc = posix_spawnp(&pid, argv[0], &actions, nil, cArgs, cEnv)
  close(fds[1])
  guard rc == 0 else {
    close(fds[0])
    warn("could not start \(argv[0]): \(String(cString: strerror(rc)))")
    return nil
  }
  var output = [UInt8]()
  var buffer = [UInt8](repeating: 0, count: 65_536)
  while true {
    let n = read(fds[0], &buffer, buffer.count)
    if n > 0 {
      output.append(contentsOf: buffer[0..<n])
    } else if n == 0 || errno != EINTR {
      break
    }
  }
  close(fds[0])
  var status: Int32 = 0
  var usage = rusage()
  while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
  var lines: [[String: Any]] = []
  var text: [String] = []
  for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
    if let object = parseJSONObject(line) {
      lines.append(object)
    } else {
      text.append(String(line))
    }
  }
  let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
  return ChildResult(
    lines: lines, text: text, exitStatus: exitStatus,
    peakRSSMegabytes: Double(usage.ru_maxrss) / 1024)
}

/// This executable (for child runs of one workload or one matmul backend).
let selfExecutable: String = {
  var buffer = [CChar](repeating: 0, count: 4096)
  let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
  if n > 0 { return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
  return CommandLine.arguments[0]
}()

/// The repository root: EMBER_REPO_ROOT, else the current directory when it holds
/// Benchmarks/pytorch, else the folder this source file was compiled from.
let repositoryRoot: URL = {
  if let d = environment["EMBER_REPO_ROOT"] { return URL(fileURLWithPath: d) }
  let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
  if FileManager.default.fileExists(atPath: cwd.appendingPathComponent("Benchmarks/pytorch").path) {
    return cwd
  }
  return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
}()

/// The project's copy of the PyTorch side (Benchmarks/pytorch), or EMBER_TORCH_BENCH_DIR.
var torchBenchDir: String {
  environment["EMBER_TORCH_BENCH_DIR"]
    ?? repositoryRoot.appendingPathComponent("Benchmarks/pytorch").path
}

/// Whether `python3 -c <code>` exits 0 (stdout and stderr discarded).
func pythonRuns(_ code: String) -> Bool {
  spawn(["python3", "-c", code + "\n"])?.exitStatus == 0
}

let torchAvailable: Bool = pythonRuns("import torch")
let numpyAvailable: Bool = pythonRuns("import numpy")
