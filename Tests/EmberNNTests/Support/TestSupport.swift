// The shared helpers (Tests/Support) for every file of this target.
@_exported import EmberTestSupport
