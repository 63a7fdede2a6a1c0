import ArgumentParser
import CanalDatastore
import CanalIPAM
import CanalModel

/// `canalctl flannel …`: flannel's network config and subnet leases on the configured datastore.
struct FlannelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flannel", abstract: "flannel's network config and subnet leases.",
        subcommands: [Config.self, Leases.self])

    struct Config: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Get or set /coreos.com/network/config.", subcommands: [Get.self, Set.self])

        struct Get: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print the network config with flannel's defaults filled in.")
            @OptionGroup var datastore: DatastoreOptions
            func run() async throws { try await runReporting(Runner(), datastore: datastore) }
            struct Runner: DatastoreCommand {
                func execute<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws {
                    let c = try await FlannelSubnetManager(store: client.store).config()
                    print(String(decoding: c.jsonBytes, as: UTF8.self))
                }
            }
        }

        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Write the network config (validated as flannel does).")
            @Option(name: .customLong("network"), help: "Network, e.g. 10.244.0.0/16.") var network: String
            @Option(name: .customLong("subnet-len"), help: "SubnetLen.") var subnetLength: Int = 0
            @Option(name: .customLong("subnet-min"), help: "SubnetMin.") var subnetMin: String?
            @Option(name: .customLong("subnet-max"), help: "SubnetMax.") var subnetMax: String?
            @Option(name: .customLong("backend"), help: "Backend type (vxlan, host-gw, ...).") var backend: String = "vxlan"
            @OptionGroup var datastore: DatastoreOptions

            func run() async throws {
                guard let net = CIDR(network) else { throw ValidationError("'\(network)' is not a CIDR") }
                let config = FlannelNetworkConfig(
                    network: net, subnetLength: subnetLength, subnetMin: subnetMin.flatMap { IPAddress($0) },
                    subnetMax: subnetMax.flatMap { IPAddress($0) }, backend: .object(JSONObject([("Type", .string(backend))])))
                try await runReporting(Runner(config: config), datastore: datastore)
            }
            struct Runner: DatastoreCommand {
                var config: FlannelNetworkConfig
                func execute<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws {
                    try await FlannelSubnetManager(store: client.store).setConfig(config)
                    print("Successfully set the flannel network config")
                }
            }
        }
    }

    struct Leases: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the subnet leases.")
        @OptionGroup var datastore: DatastoreOptions
        func run() async throws { try await runReporting(Runner(), datastore: datastore) }
        struct Runner: DatastoreCommand {
            func execute<Store: KeyValueStore>(_ client: ResourceClient<Store>) async throws {
                print("SUBNET\tPUBLIC IP\tBACKEND\tLEASE")
                for l in try await FlannelSubnetManager(store: client.store).leases() {
                    print("\(l.subnet)\t\(l.attributes.publicIP)\t\(l.attributes.backendType)\t\(l.lease.map { "\($0)" } ?? "none (reservation)")")
                }
            }
        }
    }
}
