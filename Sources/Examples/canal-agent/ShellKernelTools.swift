import CanalAgent
import CanalToolSupport

/// The kernel's tools as canal-agent runs them: spawned directly (posix_spawn), side by side.
struct ShellKernelTools: KernelTools {
    func run(_ arguments: [String], input: String?) async throws -> String {
        try await Shell.output(arguments, input: input)
    }
}
