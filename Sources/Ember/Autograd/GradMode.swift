import CEmberKernels
import Synchronization

/// Whether operations record autograd history. The flag is per thread (as PyTorch's), so
/// `withNoGrad` on one thread never affects another; the async overloads bind a task-local value
/// that follows the task across suspension points.
public enum GradMode {
  @TaskLocal static var taskOverride: Bool? = nil

  /// How many task-local bindings of ``taskOverride`` are active in the process. While none is,
  /// no task can see one, so ``isEnabled`` skips the task-local lookup (every op reads the mode
  /// at least once; the lookup was about a tenth of the scalar autograd loop's instructions).
  private static let taskBindings = Atomic<Int>(0)

  /// Runs `body` with ``taskOverride`` bound to `value`.
  static func withTaskOverride<R>(
    _ value: Bool, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> R
  ) async rethrows -> R {
    taskBindings.wrappingAdd(1, ordering: .sequentiallyConsistent)
    defer { taskBindings.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
    return try await $taskOverride.withValue(value) { try await body() }
  }

  /// The synchronous form of ``withTaskOverride(_:isolation:_:)``.
  static func withTaskOverride<R>(_ value: Bool, _ body: () throws -> R) rethrows -> R {
    taskBindings.wrappingAdd(1, ordering: .sequentiallyConsistent)
    defer { taskBindings.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
    return try $taskOverride.withValue(value) { try body() }
  }

  /// Whether the current task sees a binding of ``taskOverride``.
  static var isTaskOverridden: Bool {
    taskBindings.load(ordering: .relaxed) != 0 && taskOverride != nil
  }

  /// Whether ops record history on the current thread/task (`torch.is_grad_enabled()`).
  public static var isEnabled: Bool {
    get {
      if taskBindings.load(ordering: .relaxed) != 0, let o = taskOverride { return o }
      return ember_grad_enabled_get() != 0
    }
    set { ember_grad_enabled_set(newValue ? 1 : 0) }
  }
}

/// Turns history recording on or off for the current thread until changed again
/// (`torch.set_grad_enabled(mode)` used as a function).
public func setGradEnabled(_ enabled: Bool) {
  GradMode.isEnabled = enabled
}

/// Runs `body` with history recording set to `enabled` (on by default, even inside `withNoGrad`),
/// restoring the previous mode afterwards (`with torch.set_grad_enabled(enabled):`, and
/// `with torch.enable_grad():` as `withGradEnabled { }`).
@discardableResult
public func withGradEnabled<R>(_ enabled: Bool = true, _ body: () throws -> R) rethrows -> R {
  let previous = ember_grad_enabled_get()
  ember_grad_enabled_set(enabled ? 1 : 0)
  defer { ember_grad_enabled_set(previous) }
  if GradMode.isTaskOverridden {
    return try GradMode.withTaskOverride(enabled) { try body() }
  }
  return try body()
}

/// Runs `body` without recording history (`with torch.no_grad():`). Results of ops inside do not
/// require grad, and in-place updates of leaves that require grad are allowed.
@discardableResult
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
  try withGradEnabled(false, body)
}

/// Async variant: the mode follows the task across suspension points.
@discardableResult
public func withGradEnabled<R>(
  _ enabled: Bool, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> R
) async rethrows -> R {
  try await GradMode.withTaskOverride(enabled) { try await body() }
}

/// Async variant of ``withNoGrad(_:)``.
@discardableResult
public func withNoGrad<R>(
  isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> R
) async rethrows -> R {
  try await GradMode.withTaskOverride(false) { try await body() }
}

/// Wraps a function so that every call runs without recording history (the `@torch.no_grad()`
/// decorator).
public func noGrad<each A, R>(_ f: @escaping (repeat each A) throws -> R) -> (repeat each A) throws
  -> R
{
  { (args: repeat each A) in try withNoGrad { try f(repeat each args) } }
}
