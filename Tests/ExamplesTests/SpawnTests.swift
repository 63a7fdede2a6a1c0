import CanalToolSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// CanalToolSupport's process runner, which the tools and the test harnesses share.
@Suite("Spawn: commands to completion and long-lived children")
struct SpawnTests {
    @Test("run: status, both outputs, input, environment overrides")
    func runToCompletion() throws {
        let echoed = try Spawn.run(["sh", "-c", #"cat; echo "$CANAL_SPAWN_TEST" >&2; exit 3"#], input: Array("in\n".utf8),
                                   environment: ["CANAL_SPAWN_TEST": "over"])
        #expect(echoed.status == 3)
        #expect(echoed.stdoutText == "in\n")
        #expect(echoed.stderrText == "over\n")
        #expect(!echoed.timedOut)
        let merged = try Spawn.run(["sh", "-c", "echo a; echo b >&2"], mergingErrors: true, timeout: .seconds(60))
        #expect(merged.stdoutText == "a\nb\n")
        #expect(merged.stderr.isEmpty)
        #expect(!merged.timedOut)
        #expect(throws: SpawnFailure.self) { try Spawn.run(["/nonexistent/canal-spawn-test"]) }
    }

    @Test("run: a command still running at its timeout is killed and reaped, keeping what it wrote")
    func runTimeout() throws {
        let slept = try Spawn.run(["sh", "-c", "echo started; exec sleep 60"], timeout: .milliseconds(300))
        #expect(slept.timedOut)
        #expect(slept.status == 128 + SIGKILL)
        #expect(slept.stdoutText == "started\n")
    }

    @Test("start: a piped child's lines, then stop with SIGTERM")
    func startAndStop() throws {
        let child = try Spawn.start(["sh", "-c", "echo ready; exec sleep 60"], output: .piped)
        #expect(child.readLine(timeout: .seconds(30)) == "ready")
        #expect(child.isRunning)
        #expect(child.exitStatus == nil)
        #expect(child.stop() == 128 + SIGTERM)
        #expect(!child.isRunning)
        #expect(child.exitStatus == 128 + SIGTERM)
        #expect(kill(child.pid, 0) != 0)  // reaped: no zombie left
        #expect(child.stop() == 128 + SIGTERM)  // stopping again only reports
    }

    @Test("stop: a child that ignores SIGTERM is killed after the grace period")
    func stopEscalates() throws {
        let child = try Spawn.start(["sh", "-c", #"trap "" TERM; echo ready; while :; do sleep 0.05; done"#], output: .piped)
        #expect(child.readLine(timeout: .seconds(30)) == "ready")
        #expect(child.stop(grace: .milliseconds(200)) == 128 + SIGKILL)
    }

    @Test("start: output appended to one file, or split into two; environment overrides; wait")
    func startOutputs() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canal-spawn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("log").path
        try "before\n".write(toFile: log, atomically: true, encoding: .utf8)
        let script = #"echo "out $CANAL_SPAWN_TEST"; echo err >&2; exit 2"#
        let appended = try Spawn.start(["sh", "-c", script], environment: ["CANAL_SPAWN_TEST": "x"], output: .appended(to: log))
        #expect(appended.wait(timeout: .seconds(60)) == 2)
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "before\nout x\nerr\n")
        let out = directory.appendingPathComponent("out").path, err = directory.appendingPathComponent("err").path
        let split = try Spawn.start(["sh", "-c", script], output: .files(stdout: out, stderr: err))
        #expect(split.wait() == 2)
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "out \n")
        #expect(try String(contentsOfFile: err, encoding: .utf8) == "err\n")
        #expect(throws: SpawnFailure.self) { try Spawn.start(["/nonexistent/canal-spawn-test"]) }
    }

    @Test("a released handle kills and reaps its child")
    func releaseKills() throws {
        var child: SpawnedChild? = try Spawn.start(["sleep", "60"])
        let pid = try #require(child?.pid)
        #expect(kill(pid, 0) == 0)
        child = nil
        #expect(kill(pid, 0) != 0 && errno == ESRCH)
    }
}
