import CanalToolSupport
import CanalIPAM
import CanalModel
import Foundation

/// The kernel side of a backend: makes the host's routes (and for vxlan, neighbour and FDB entries)
/// match the peers, and removes those of peers that are gone. Idempotent: it reads what is
/// programmed (`ip -j`) and changes only the difference, so the same call serves lease events and
/// the periodic resync (flannel re-adds lost routes every 10 s).
protocol Dataplane: Sendable {
    /// Programs `peers`; returns the number of changes made.
    func reconcile(_ peers: [FlannelPeer]) async throws -> Int
}

/// host-gw: `<subnet> via <peer public IP> dev <external interface>` per peer.
struct HostGatewayDataplane: Dataplane {
    var interface: String
    var network: CIDR
    var ownSubnet: CIDR

    func reconcile(_ peers: [FlannelPeer]) async throws -> Int {
        var current: [CIDR: String] = [:]
        for route in try await Shell.json(["ip", "-4", "-j", "route", "show", "dev", interface]) {
            guard let cidr = flannelRoute(route, network: network, own: ownSubnet) else { continue }
            current[cidr] = route["gateway"] as? String ?? ""
        }
        var changes = 0
        var wanted = Set<CIDR>()
        for peer in peers {
            wanted.insert(peer.subnet)
            if current[peer.subnet] == peer.publicIP.description { continue }
            try await Shell.check(["ip", "-4", "route", "replace", peer.subnet.description, "via", peer.publicIP.description, "dev", interface])
            Log.info("host-gw: route \(peer.subnet) via \(peer.publicIP) dev \(interface)")
            changes += 1
        }
        for (subnet, _) in current where !wanted.contains(subnet) {
            _ = await Shell.run(["ip", "-4", "route", "del", subnet.description, "dev", interface])
            Log.info("host-gw: removed route \(subnet) (lease gone)")
            changes += 1
        }
        return changes
    }
}

/// vxlan: on `flannel.<VNI>`, per peer an on-link route `<subnet> via <subnet .0>`, a permanent
/// neighbour `<subnet .0> lladdr <VtepMAC>`, and an FDB entry `<VtepMAC> dst <public IP>`.
struct VXLANDataplane: Dataplane {
    var device: String
    var network: CIDR
    var ownSubnet: CIDR

    func reconcile(_ peers: [FlannelPeer]) async throws -> Int {
        var routes: [CIDR: String] = [:]
        for route in try await Shell.json(["ip", "-4", "-j", "route", "show", "dev", device]) {
            guard let cidr = flannelRoute(route, network: network, own: ownSubnet) else { continue }
            routes[cidr] = route["gateway"] as? String ?? ""
        }
        var neighbours: [String: String] = [:]  // IP → MAC
        for entry in try await Shell.json(["ip", "-4", "-j", "neigh", "show", "dev", device]) {
            guard let dst = entry["dst"] as? String, let ip = IPAddress(dst), network.contains(ip) else { continue }
            neighbours[dst] = (entry["lladdr"] as? String ?? "").lowercased()
        }
        var fdb: [String: String] = [:]  // MAC → destination
        for entry in try await Shell.json(["bridge", "-j", "fdb", "show", "dev", device]) {
            guard let mac = (entry["mac"] as? String)?.lowercased(), mac != "00:00:00:00:00:00",
                  let dst = entry["dst"] as? String
            else { continue }
            fdb[mac] = dst
        }
        var changes = 0
        var wantedRoutes = Set<CIDR>(), wantedNeighbours = Set<String>(), wantedMACs = Set<String>()
        for peer in peers {
            guard let vtep = peer.vxlan else { continue }
            let gateway = peer.gateway.description
            wantedRoutes.insert(peer.subnet)
            wantedNeighbours.insert(gateway)
            wantedMACs.insert(vtep.vtepMAC)
            // flannel's order: ARP, then FDB, then the route.
            if neighbours[gateway] != vtep.vtepMAC {
                try await Shell.check(["ip", "-4", "neigh", "replace", gateway, "lladdr", vtep.vtepMAC, "dev", device, "nud", "permanent"])
                changes += 1
            }
            if fdb[vtep.vtepMAC] != peer.publicIP.description {
                try await Shell.check(["bridge", "fdb", "replace", vtep.vtepMAC, "dev", device, "dst", peer.publicIP.description, "self", "permanent"])
                changes += 1
            }
            if routes[peer.subnet] != gateway {
                try await Shell.check(["ip", "-4", "route", "replace", peer.subnet.description, "via", gateway, "dev", device, "onlink"])
                Log.info("vxlan: \(peer.subnet) via \(gateway) dev \(device) onlink; \(gateway) → \(vtep.vtepMAC) → \(peer.publicIP)")
                changes += 1
            }
        }
        for (subnet, _) in routes where !wantedRoutes.contains(subnet) {
            _ = await Shell.run(["ip", "-4", "route", "del", subnet.description, "dev", device])
            Log.info("vxlan: removed route \(subnet) (lease gone)")
            changes += 1
        }
        for (ip, _) in neighbours where !wantedNeighbours.contains(ip) {
            _ = await Shell.run(["ip", "-4", "neigh", "del", ip, "dev", device])
            changes += 1
        }
        for (mac, _) in fdb where !wantedMACs.contains(mac) {
            _ = await Shell.run(["bridge", "fdb", "del", mac, "dev", device, "self"])
            changes += 1
        }
        return changes
    }

    /// Creates (or keeps, when compatible) `flannel.<VNI>`: VNI, local public IP on the external
    /// interface, UDP port (kernel default 8472), learning off, MTU = interface MTU − 50; returns its MAC.
    static func ensureDevice(name: String, vni: Int, port: Int, localIP: IPAddress, interface: String, mtu: Int) async throws -> String {
        let exists = await Shell.run(["ip", "link", "show", "dev", name]).status == 0
        if exists, let existing = try await Shell.json(["ip", "-d", "-j", "link", "show", "dev", name]).first,
           let info = (existing["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any] {
            let sameVNI = (info["id"] as? Int) == vni
            let samePort = (info["port"] as? Int).map { $0 == port } ?? true
            let sameLocal = (info["local"] as? String).map { $0 == localIP.description } ?? true
            if sameVNI && samePort && sameLocal, let mac = existing["address"] as? String {
                Log.info("vxlan: reusing \(name) (VtepMAC \(mac))")
                try await Shell.check(["ip", "link", "set", name, "mtu", String(mtu), "up"])
                return mac.lowercased()
            }
            Log.warning("vxlan: \(name) exists with another configuration; recreating it")
            try await Shell.check(["ip", "link", "del", name])
        }
        let mac = FlannelVXLANData.randomMAC()
        try await Shell.check([
            "ip", "link", "add", name, "address", mac, "mtu", String(mtu), "type", "vxlan", "id", String(vni),
            "local", localIP.description, "dev", interface, "dstport", String(port), "nolearning",
        ])
        _ = await Shell.run(["sysctl", "-q", "-w", "net.ipv6.conf.\(name).accept_ra=0"])
        Log.info("vxlan: created \(name) (VNI \(vni), port \(port), VtepMAC \(mac))")
        return mac
    }

    /// flannel's device address: the subnet's network address as a /32; any other address inside
    /// the flannel network is removed (a stale lease's). Then the device is brought up.
    static func configureAddress(device: String, subnet: String, network: String) async throws {
        let wanted = deviceAddress(subnet: subnet)
        // `ip -o -4 addr show dev flannel.1`: "4: flannel.1    inet 10.5.52.0/32 scope global flannel.1 ..."
        let listing = try await Shell.check(["ip", "-o", "-4", "addr", "show", "dev", device])
        let addresses = listing.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard let i = words.firstIndex(of: "inet"), i + 1 < words.count else { return nil }
            return String(words[i + 1])
        }
        var present = false
        for text in addresses {
            if text == wanted {
                present = true
            } else if inside(text, network) {
                try await Shell.check(["ip", "addr", "del", text, "dev", device])
            }
        }
        if !present { try await Shell.check(["ip", "addr", "add", wanted, "dev", device]) }
        try await Shell.check(["ip", "link", "set", device, "up"])
    }

    /// `<subnet network address>/32`.
    static func deviceAddress(subnet: String) -> String {
        "\(CIDR(subnet)!.network.address)/32"
    }

    /// Whether the address of `cidr` text lies in `network`.
    static func inside(_ cidr: String, _ network: String) -> Bool {
        guard let address = CIDR(cidr)?.address, let network = CIDR(network) else { return false }
        return network.contains(address)
    }
}

/// A route of `ip -j route` that flanneld owns: a destination inside the flannel network other than
/// the host's own subnet (and not a host route to a local workload).
private func flannelRoute(_ route: [String: Any], network: CIDR, own: CIDR) -> CIDR? {
    guard let dst = route["dst"] as? String, dst != "default", dst.contains("/"),
          let cidr = CIDR(dst), network.contains(cidr), cidr.network != own.network, !own.contains(cidr)
    else { return nil }
    return cidr.network
}

/// The external interface: its name, an IPv4 address on it, and its MTU.
struct ExternalInterface {
    var name: String
    var address: IPAddress
    var mtu: Int

    /// Finds the interface from `--iface` (a name or an address), else the one holding
    /// `--public-ip`, else the interface of the default route (flanneld's order).
    static func find(iface: String?, publicIP: IPAddress?) async throws -> ExternalInterface {
        let links = try await Shell.json(["ip", "-4", "-j", "addr", "show"])
        func v4(_ link: [String: Any]) -> [IPAddress] {
            (link["addr_info"] as? [[String: Any]] ?? []).compactMap { ($0["local"] as? String).flatMap { IPAddress($0) } }
        }
        func make(_ link: [String: Any], preferring ip: IPAddress?) throws -> ExternalInterface {
            let name = link["ifname"] as? String ?? ""
            let addresses = v4(link)
            guard let address = ip.flatMap({ addresses.contains($0) ? $0 : nil }) ?? addresses.first else {
                throw CommandFailure(description: "interface \(name) has no IPv4 address")
            }
            return ExternalInterface(name: name, address: address, mtu: link["mtu"] as? Int ?? 1500)
        }
        if let iface {
            if let ip = IPAddress(iface) {
                guard let link = links.first(where: { v4($0).contains(ip) }) else {
                    throw CommandFailure(description: "--iface \(iface): no interface has that address")
                }
                return try make(link, preferring: ip)
            }
            guard let link = links.first(where: { $0["ifname"] as? String == iface }) else {
                throw CommandFailure(description: "--iface \(iface): no such interface with an IPv4 address")
            }
            return try make(link, preferring: publicIP)
        }
        if let publicIP, let link = links.first(where: { v4($0).contains(publicIP) }) {
            return try make(link, preferring: publicIP)
        }
        let routes = try await Shell.json(["ip", "-4", "-j", "route", "show", "default"])
        guard let dev = routes.first?["dev"] as? String, let link = links.first(where: { $0["ifname"] as? String == dev }) else {
            throw CommandFailure(description: "no --iface given and no default route to pick an interface from")
        }
        return try make(link, preferring: publicIP)
    }
}
