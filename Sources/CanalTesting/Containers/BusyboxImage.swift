// A container image with no registry: a root file system made of Debian's static busybox, packed as
// the tarball that `podman import` and `docker import` take.
import Foundation

/// The root file system of a minimal container image: `/bin/busybox` (from Debian's
/// `busybox-static`) with a link for each of its applets, and the few files programs expect.
public enum BusyboxImage {
    /// Where Debian's `busybox-static` puts its binary.
    public static let busyboxPath = "/bin/busybox"

    /// Writes the image's root file system as a tar archive at `tarball`, for
    /// `podman import TARBALL NAME` or `docker import TARBALL NAME`.
    ///
    /// - Throws: ``NetnsError`` when busybox is missing or is not a static binary, or when `tar` fails.
    public static func writeRootfsTarball(to tarball: String) throws {
        guard FileManager.default.isExecutableFile(atPath: busyboxPath) else {
            throw NetnsError(description: "\(busyboxPath) is missing: install Debian's busybox-static")
        }
        // ldd says "not a dynamic executable" (and fails) for a static binary.
        guard try run(["ldd", busyboxPath]).status != 0 else {
            throw NetnsError(description: "\(busyboxPath) is dynamically linked: install Debian's busybox-static")
        }
        let root = NSTemporaryDirectory() + "canal-busybox-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        for dir in ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "tmp", "proc", "sys", "dev", "root", "var/www"] {
            try fm.createDirectory(atPath: "\(root)/\(dir)", withIntermediateDirectories: true)
        }
        try fm.copyItem(atPath: busyboxPath, toPath: "\(root)/bin/busybox")
        // `busybox --list-full` names each applet with its directory (bin/sh, usr/bin/wget, …).
        for applet in try check([busyboxPath, "--list-full"]).split(separator: "\n") {
            let relative = String(applet)
            guard relative != "bin/busybox", !fm.fileExists(atPath: "\(root)/\(relative)") else { continue }
            try fm.createSymbolicLink(atPath: "\(root)/\(relative)", withDestinationPath: "/bin/busybox")
        }
        try "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
            .write(toFile: "\(root)/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\nnogroup:x:65534:\n".write(toFile: "\(root)/etc/group", atomically: true, encoding: .utf8)
        try "127.0.0.1 localhost\n".write(toFile: "\(root)/etc/hosts", atomically: true, encoding: .utf8)
        try check(["tar", "-C", root, "-cf", tarball, "."])
    }
}
